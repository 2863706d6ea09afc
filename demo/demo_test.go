package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"toso/store"
	"toso/store/storetest"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), storetest.DB(t, "demo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func allUsers(t *testing.T, st *store.Store) []store.User {
	t.Helper()
	var out []store.User
	for after := int64(0); ; {
		page, err := st.Users(context.Background(), store.System, store.UserFilter{After: after, Limit: store.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < store.MaxPageSize {
			return out
		}
		after = page[len(page)-1].ID
	}
}

func TestEnsureDemo(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p, created, err := Ensure(ctx, st, Options{})
	if err != nil || !created {
		t.Fatalf("Ensure = %v, %v; want a new province", created, err)
	}
	t.Logf("seed 1: %d communes, %d teams, %d users", len(p.Communes), p.Teams(), p.Users)
	if got := len(p.Communes); got != 12 {
		t.Errorf("communes = %d, want 12", got)
	}
	if got := p.Teams(); got < 60 || got > 84 {
		t.Errorf("teams = %d, want about 70 (60..84)", got)
	}
	if got := p.Users; got < 250 || got > 350 {
		t.Errorf("users = %d, want about 300 (250..350)", got)
	}

	// Every fixed account logs in with its role; the lead and the member
	// share a team inside the commune coordinator's commune.
	actors := map[string]store.Actor{}
	for _, a := range Accounts() {
		u, err := st.Authenticate(ctx, a.Phone, Password)
		if err != nil {
			t.Fatalf("login %s: %v", a.Phone, err)
		}
		if u.Role != a.Role || u.Name != a.Name {
			t.Errorf("%s: role %s name %q, want %s %q", a.Phone, u.Role, u.Name, a.Role, a.Name)
		}
		if actors[a.Phone], err = st.Actor(ctx, u.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	provCoord, communeCoord := actors["0900000001"], actors["0900000002"]
	lead, member := actors["0900000003"], actors["0900000004"]
	if provCoord.AreaID != p.ID {
		t.Errorf("province coordinator scope = %d, want the province %d", provCoord.AreaID, p.ID)
	}
	if lead.TeamID == 0 || lead.TeamID != member.TeamID {
		t.Errorf("lead team %d, member team %d: want the same team", lead.TeamID, member.TeamID)
	}
	if !strings.HasPrefix(lead.AreaPath, communeCoord.AreaPath) || communeCoord.AreaID != p.Communes[0].ID {
		t.Errorf("lead's area %s is not inside the commune coordinator's %s", lead.AreaPath, communeCoord.AreaPath)
	}
	if !communeCoord.CanManageTeam(lead.AreaPath) || actors["0900000000"].Role != store.RoleAdmin {
		t.Errorf("commune coordinator cannot manage the lead's team")
	}

	// Districts were abolished; old communes lead to the new ones.
	for _, id := range p.Districts {
		d, err := st.Area(ctx, store.System, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Level != "district" || d.ValidTo != "2025-06-30" {
			t.Errorf("district %d: level %s valid_to %q", id, d.Level, d.ValidTo)
		}
	}
	lin, err := st.AreaLineage(ctx, store.System, p.Communes[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	var split bool
	for _, l := range lin {
		split = split || (l.OldAreaID == p.OldCommunes[0] && l.Share == 0.3 && l.EffectiveOn == "2025-07-01")
	}
	if !split {
		t.Errorf("lineage of commune %d = %+v, want the 30%% split of old commune %d", p.Communes[1].ID, lin, p.OldCommunes[0])
	}

	// The province's figures are the sums of its villages.
	prov, err := st.Area(ctx, store.System, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var pop int64
	for _, c := range p.Communes {
		for _, v := range c.Villages {
			a, err := st.Area(ctx, store.System, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			pop += a.Population
			if a.Adults > a.Population || a.Households == 0 {
				t.Errorf("village %s: figures %+v", a.Name, a)
			}
		}
	}
	if prov.Population != pop || pop == 0 {
		t.Errorf("province population = %d, want the villages' sum %d", prov.Population, pop)
	}

	// A second run reuses the province.
	before := len(allUsers(t, st))
	p2, created, err := Ensure(ctx, st, Options{})
	if err != nil || created || p2 != nil {
		t.Fatalf("second Ensure = %v, %v, %v; want reuse", p2, created, err)
	}
	if got := len(allUsers(t, st)); got != before {
		t.Errorf("users after a second Ensure = %d, want %d", got, before)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	ctx := context.Background()
	names := func(seed uint64) []string {
		st := openStore(t)
		if _, err := Build(ctx, st, Options{Seed: seed, Communes: 3, VillagesPerCommune: 3}); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range allUsers(t, st) {
			out = append(out, u.Phone+" "+u.Name+" "+u.Gender)
		}
		return out
	}
	a, b, c := names(7), names(7), names(8)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("seed 7 twice (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same users")
	}
}

func TestEnsureRefusesOtherData(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, err := st.CreateArea(ctx, store.System, store.NewArea{Level: "province", Name: "Tỉnh Khác", Code: "20"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Ensure(ctx, st, Options{}); !errors.Is(err, ErrNotDemo) {
		t.Errorf("Ensure on a real database: err = %v, want ErrNotDemo", err)
	}
}

func TestActivityHook(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var got *Province
	_, err := Build(ctx, st, Options{Communes: 2, VillagesPerCommune: 2, Activity: func(_ context.Context, _ *store.Store, p *Province, _ *rand.Rand) error {
		got = p
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Teams() == 0 {
		t.Errorf("Activity got %+v, want the built province", got)
	}
}

// BenchmarkBuildProvince builds a province at the scale Toso is designed
// for: 100 communes × 50 villages = 5,000 teams, 5 users a team = 25,000
// members (plus leads' coordinators), one shared password hash.
//
//	go test ./demo -run '^$' -bench BuildProvince -benchtime 1x
func BenchmarkBuildProvince(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		b.StartTimer()
		p, err := Build(context.Background(), st, Options{Seed: 1, Communes: 100, VillagesPerCommune: 50, MembersPerTeam: 5})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p.Teams()), "teams")
		b.ReportMetric(float64(p.Users), "users")
	}
}
