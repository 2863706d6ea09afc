// Package demo generates a realistic Vietnamese province for `toso demo`
// and for benchmarks: a province whose two former districts were abolished
// on 1 July 2025, the old communes merged into new ones (with lineage),
// villages with population figures, a team per village, members with
// Vietnamese names, and fixed accounts for trying the app. The randomness is
// seeded, so the same Options always give the same province.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"toso/store"
)

// Password is the password of every demo account.
const Password = "demo-password"

// markerKey is the setting that says the database holds a complete demo
// province; it commits in the same transaction as the province.
const markerKey = "demo_province"

// Options shapes the province. The zero value is the demo: seed 1, 12
// communes, about 70 villages and teams, about 300 users.
type Options struct {
	Seed               uint64
	Communes           int // communes after the 2025 reform (default 12)
	VillagesPerCommune int // on average; each commune gets ±2 (default 6)
	MembersPerTeam     int // including the lead (default 4)
	Log                *slog.Logger
	// Activity, when set, runs once after a new province is committed, with
	// the province and a generator seeded from Seed: the hook for demo
	// activity (assistance logs, training sessions) once sync exists. It
	// does not run when an existing demo database is reused.
	Activity func(ctx context.Context, st *store.Store, p *Province, rng *rand.Rand) error
}

func (o *Options) defaults() {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Communes <= 0 {
		o.Communes = 12
	}
	if o.VillagesPerCommune <= 0 {
		o.VillagesPerCommune = 6
	}
	if o.MembersPerTeam <= 0 {
		o.MembersPerTeam = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Province is what Build created, for hooks and benchmarks.
type Province struct {
	ID          int64
	Name        string
	Districts   []int64 // abolished 2025-06-30
	OldCommunes []int64 // district-era communes, merged into Communes
	Communes    []Commune
	Users       int
}

// Commune is a post-2025 commune with its villages.
type Commune struct {
	ID            int64
	Name          string
	CoordinatorID int64
	Villages      []Village

	figures [4]int64 // population, adults, working age, households
}

// Village is a village (or residential group) with its team.
type Village struct {
	ID        int64
	Name      string
	TeamID    int64
	LeadID    int64
	MemberIDs []int64 // members other than the lead
}

// Teams counts the teams of the province.
func (p *Province) Teams() int {
	n := 0
	for _, c := range p.Communes {
		n += len(c.Villages)
	}
	return n
}

// Account is a fixed demo login.
type Account struct {
	Role   store.Role
	Phone  string
	Name   string
	Gender string
	Scope  string // where the account stands, for the accounts table
}

// Accounts are the fixed logins of every demo province, all with Password:
// the lead and the member are in one team, inside the commune
// coordinator's commune.
func Accounts() []Account {
	return []Account{
		{store.RoleAdmin, "0900000000", "Trần Minh Quân", "male", "whole deployment"},
		{store.RoleCoordinator, "0900000001", "Lê Thị Hồng Nhung", "female", "the province"},
		{store.RoleCoordinator, "0900000002", "Phạm Văn Đức", "male", "the first commune"},
		{store.RoleTeamLead, "0900000003", "Nguyễn Văn Hùng", "male", "team of the commune's first village"},
		{store.RoleMember, "0900000004", "Hoàng Thị Mai", "female", "same team as the lead"},
	}
}

// ErrNotDemo means the database holds data that is not a demo province.
var ErrNotDemo = errors.New("the database is not empty and holds no demo province")

// Populated reports whether st already holds a complete demo province.
func Populated(ctx context.Context, st *store.Store) (bool, error) {
	_, err := st.Setting(ctx, markerKey)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Ensure builds the demo province unless the database already holds one
// (then it returns nil, false). A database with other data is ErrNotDemo.
func Ensure(ctx context.Context, st *store.Store, opt Options) (*Province, bool, error) {
	if ok, err := Populated(ctx, st); err != nil || ok {
		return nil, false, err
	}
	users, err := st.Users(ctx, store.System, store.UserFilter{Limit: 1})
	if err != nil {
		return nil, false, err
	}
	areas, err := st.Areas(ctx, store.System, store.AreaFilter{Limit: 1})
	if err != nil {
		return nil, false, err
	}
	if len(users) > 0 || len(areas) > 0 {
		return nil, false, ErrNotDemo
	}
	p, err := Build(ctx, st, opt)
	return p, err == nil, err
}

// Build generates a province into st in one write transaction, then runs
// opt.Activity. Every generated user gets Password with one shared hash
// (hashing is ~27 ms; 25,000 hashes would take minutes).
func Build(ctx context.Context, st *store.Store, opt Options) (*Province, error) {
	opt.defaults()
	start := time.Now()
	g := &generator{
		rng:    rand.New(rand.NewPCG(opt.Seed, 0x70736f)),
		hash:   st.HashPassword(Password),
		phones: map[string]bool{},
		log:    opt.Log,

		membersPerTeam: opt.MembersPerTeam,
	}
	for _, a := range Accounts() {
		g.phones[a.Phone] = true
	}
	var p *Province
	err := st.Bulk(ctx, store.System, func(b *store.Bulk) error {
		var err error
		if p, err = g.province(ctx, b, opt); err != nil {
			return err
		}
		return b.SetSetting(ctx, markerKey, fmt.Sprintf("seed=%d communes=%d villages=%d members=%d",
			opt.Seed, opt.Communes, opt.VillagesPerCommune, opt.MembersPerTeam))
	})
	if err != nil {
		return nil, fmt.Errorf("demo province: %w", err)
	}
	opt.Log.Info("demo province created", "communes", len(p.Communes), "teams", p.Teams(), "users", p.Users,
		"took", time.Since(start).Round(time.Millisecond).String())
	if opt.Activity != nil {
		if err := opt.Activity(ctx, st, p, rand.New(rand.NewPCG(opt.Seed, 0x616374))); err != nil {
			return p, fmt.Errorf("demo activity: %w", err)
		}
	}
	return p, nil
}

type generator struct {
	rng    *rand.Rand
	hash   store.PasswordHash
	phones map[string]bool
	log    *slog.Logger

	membersPerTeam int
}

const (
	reformDay = "2025-07-01"
	lastDay   = "2025-06-30"
)

func (g *generator) province(ctx context.Context, b *store.Bulk, opt Options) (*Province, error) {
	p := &Province{Name: "Tỉnh Thái Nguyên"}
	var err error
	// Figures of the province are the sums of its villages: create it first
	// with zeros, fill them in at the end through the same update path.
	if p.ID, err = b.CreateArea(ctx, store.NewArea{Level: "province", Name: p.Name, Code: "19"}); err != nil {
		return nil, err
	}
	for i, d := range []struct{ name, code string }{{"Huyện Đại Từ", "173"}, {"Huyện Phú Bình", "174"}} {
		id, err := b.CreateArea(ctx, store.NewArea{ParentID: p.ID, Level: "district", Name: d.name, Code: d.code, ValidTo: lastDay})
		if err != nil {
			return nil, fmt.Errorf("district %d: %w", i, err)
		}
		p.Districts = append(p.Districts, id)
	}
	places := newUniqueNames(g.rng, placeNames)
	for i := range opt.Communes {
		c, err := g.commune(ctx, b, p, i, places, opt)
		if err != nil {
			return nil, err
		}
		p.Communes = append(p.Communes, *c)
		if (i+1)%10 == 0 || i+1 == opt.Communes {
			g.log.Info("demo: communes", "done", i+1, "of", opt.Communes)
		}
	}
	if err := g.split(ctx, b, p); err != nil {
		return nil, err
	}
	var sum [4]int64
	for _, c := range p.Communes {
		for i, f := range c.figures {
			sum[i] += f
		}
	}
	if err := b.UpdateArea(ctx, p.ID, store.AreaPatch{Population: &sum[0], Adults: &sum[1], WorkingAge: &sum[2], Households: &sum[3]}); err != nil {
		return nil, err
	}
	return p, g.people(ctx, b, p)
}

// commune creates new commune i with its villages and the old communes it
// was merged from (1 to 3, under one of the two districts).
func (g *generator) commune(ctx context.Context, b *store.Bulk, p *Province, i int, places *uniqueNames, opt Options) (*Commune, error) {
	kind, villageKind, villagePrefix := "Xã ", "village", "Xóm "
	if i == 1 {
		kind, villageKind, villagePrefix = "Phường ", "residential_group", "Tổ dân phố "
	}
	c := &Commune{Name: kind + places.take()}
	nv := max(1, opt.VillagesPerCommune-2+g.rng.IntN(5))
	type figures struct{ pop, adults, working, households int64 }
	vf := make([]figures, nv)
	var total figures
	for v := range vf {
		pop := int64(500 + g.rng.IntN(2000))
		f := figures{pop, pop * int64(68+g.rng.IntN(8)) / 100, pop * int64(58+g.rng.IntN(8)) / 100, pop * 10 / int64(34+g.rng.IntN(6))}
		vf[v] = f
		total = figures{total.pop + f.pop, total.adults + f.adults, total.working + f.working, total.households + f.households}
	}
	c.figures = [4]int64{total.pop, total.adults, total.working, total.households}
	var err error
	c.ID, err = b.CreateArea(ctx, store.NewArea{
		ParentID: p.ID, Level: "commune", Name: c.Name, Code: fmt.Sprintf("%05d", 5440+3*i), ValidFrom: reformDay,
		Population: total.pop, Adults: total.adults, WorkingAge: total.working, Households: total.households,
	})
	if err != nil {
		return nil, fmt.Errorf("commune %d: %w", i, err)
	}
	district := p.Districts[min(i*len(p.Districts)/opt.Communes, len(p.Districts)-1)]
	merged := 1 + g.rng.IntN(3)
	for k := range merged {
		old, err := b.CreateArea(ctx, store.NewArea{
			ParentID: district, Level: "commune", Name: "Xã " + places.take(), Code: fmt.Sprintf("%05d", 20000+10*i+k),
			ValidTo: lastDay, Population: total.pop / int64(merged),
		})
		if err != nil {
			return nil, fmt.Errorf("old commune %d/%d: %w", i, k, err)
		}
		p.OldCommunes = append(p.OldCommunes, old)
		if err := b.AddLineage(ctx, store.Lineage{OldAreaID: old, NewAreaID: c.ID, Share: 1, EffectiveOn: reformDay}); err != nil {
			return nil, err
		}
	}
	names := newUniqueNames(g.rng, villageNames)
	for v, f := range vf {
		name := villagePrefix + names.take()
		if villageKind == "residential_group" {
			name = villagePrefix + strconv.Itoa(v+1)
		}
		id, err := b.CreateArea(ctx, store.NewArea{
			ParentID: c.ID, Level: villageKind, Name: name, ValidFrom: reformDay,
			Population: f.pop, Adults: f.adults, WorkingAge: f.working, Households: f.households,
		})
		if err != nil {
			return nil, fmt.Errorf("village %d/%d: %w", i, v, err)
		}
		founded := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.rng.IntN(640))
		team, err := b.CreateTeam(ctx, store.NewTeam{
			AreaID: id, Name: "Tổ CNSCĐ " + name, FoundedOn: founded.Format("2006-01-02"),
			FoundingDecision: fmt.Sprintf("Quyết định số %d/QĐ-UBND", 100+g.rng.IntN(900)),
		})
		if err != nil {
			return nil, fmt.Errorf("team %d/%d: %w", i, v, err)
		}
		c.Villages = append(c.Villages, Village{ID: id, Name: name, TeamID: team})
	}
	return c, nil
}

// split makes one old commune of the first new commune split: 70% stayed,
// 30% went to the second new commune (the reform did split some communes).
func (g *generator) split(ctx context.Context, b *store.Bulk, p *Province) error {
	if len(p.Communes) < 2 {
		return nil
	}
	old := p.OldCommunes[0]
	if err := b.AddLineage(ctx, store.Lineage{OldAreaID: old, NewAreaID: p.Communes[0].ID, Share: 0.7, EffectiveOn: reformDay}); err != nil {
		return err
	}
	return b.AddLineage(ctx, store.Lineage{OldAreaID: old, NewAreaID: p.Communes[1].ID, Share: 0.3, EffectiveOn: reformDay})
}

// people creates the fixed accounts, a coordinator per commune and each
// team's lead and members.
func (g *generator) people(ctx context.Context, b *store.Bulk, p *Province) error {
	fixed := Accounts()
	first := &p.Communes[0].Villages[0]
	add := func(n store.NewUser) (int64, error) {
		id, err := b.CreateUser(ctx, n, g.hash)
		if err == nil {
			p.Users++
		}
		return id, err
	}
	scopes := []store.NewUser{
		{}, {AreaID: p.ID}, {AreaID: p.Communes[0].ID}, {TeamID: first.TeamID}, {TeamID: first.TeamID},
	}
	ids := make([]int64, len(fixed))
	for i, a := range fixed {
		n := scopes[i]
		n.Phone, n.Name, n.Role, n.Gender = a.Phone, a.Name, a.Role, a.Gender
		id, err := add(n)
		if err != nil {
			return fmt.Errorf("account %s: %w", a.Phone, err)
		}
		ids[i] = id
	}
	p.Communes[0].CoordinatorID = ids[2]
	first.LeadID = ids[3]
	first.MemberIDs = append(first.MemberIDs, ids[4])
	for ci := range p.Communes {
		c := &p.Communes[ci]
		if c.CoordinatorID == 0 {
			id, err := add(g.person(store.NewUser{Role: store.RoleCoordinator, AreaID: c.ID}))
			if err != nil {
				return err
			}
			c.CoordinatorID = id
		}
		for vi := range c.Villages {
			v := &c.Villages[vi]
			if v.LeadID == 0 {
				id, err := add(g.person(store.NewUser{Role: store.RoleTeamLead, TeamID: v.TeamID}))
				if err != nil {
					return err
				}
				v.LeadID = id
			}
			for len(v.MemberIDs) < g.membersPerTeam-1 {
				id, err := add(g.person(store.NewUser{Role: store.RoleMember, TeamID: v.TeamID}))
				if err != nil {
					return err
				}
				v.MemberIDs = append(v.MemberIDs, id)
			}
		}
		if (ci+1)%10 == 0 || ci+1 == len(p.Communes) {
			g.log.Info("demo: people", "communes", ci+1, "of", len(p.Communes), "users", p.Users)
		}
	}
	return nil
}

// person fills in a random name, gender and unique phone 09xxxxxxxx.
func (g *generator) person(n store.NewUser) store.NewUser {
	n.Gender = "male"
	if g.rng.IntN(100) < 52 {
		n.Gender = "female"
	}
	n.Name = personName(g.rng, n.Gender)
	for {
		phone := fmt.Sprintf("09%08d", g.rng.IntN(100_000_000))
		if !g.phones[phone] && phone[:6] != "090000" {
			g.phones[phone] = true
			n.Phone = phone
			return n
		}
	}
}
