package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// GenerateOptions sizes a generated province for benchmarks and demos.
type GenerateOptions struct {
	Communes           int // current communes (default 100)
	VillagesPerCommune int // villages per commune, one team each (default 50)
	MergedCommunes     int // communes that ended on 2025-06-30, merged into the first ones (default 10)
	Logs               int // assistance logs over 2025 (default 5,000,000)
	SessionsPerTeam    int // training sessions per team (default 40)
	Seed               uint64
}

func (g *GenerateOptions) defaults() {
	if g.Communes <= 0 {
		g.Communes = 100
	}
	if g.VillagesPerCommune <= 0 {
		g.VillagesPerCommune = 50
	}
	if g.MergedCommunes < 0 || g.MergedCommunes > g.Communes {
		g.MergedCommunes = 0
	}
	if g.Logs <= 0 {
		g.Logs = 5_000_000
	}
	if g.SessionsPerTeam <= 0 {
		g.SessionsPerTeam = 40
	}
}

// GeneratedUsers are the fixed accounts of a generated province.
const (
	GeneratedAdminPhone = "0900000001"
	GeneratedCoordPhone = "0900000002" // coordinator of the first commune
	GeneratedPassword   = "password-generated"
)

// Generate fills an empty database with a province: areas (with merged
// communes and their lineage), one team per village with five members,
// assistance logs over 2025 (citizens recurring within and across teams,
// some deleted or locked) and training sessions. Rows go in with batched
// plain SQL, then RebuildRollups computes every derived table with the
// fold's rules. progress reports each stage.
func (s *Store) Generate(ctx context.Context, g GenerateOptions, progress func(stage string, done, total int)) error {
	g.defaults()
	if progress == nil {
		progress = func(string, int, int) {}
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM areas`).Scan(&n); err != nil || n > 0 {
		return fmt.Errorf("generate: the database must be empty (areas: %d, %v): %w", n, err, ErrConflict)
	}
	hash := s.hashPassword(GeneratedPassword)
	// Rows go in parent-last batches; the generator's keys are consistent
	// by construction. The write pool has one connection, so this setting
	// applies to every statement below.
	fkOff, fkOn := `PRAGMA foreign_keys = OFF`, `PRAGMA foreign_keys = ON`
	if s.pg {
		// PostgreSQL checks references with triggers that the replica role
		// skips; setting it takes a superuser.
		fkOff, fkOn = `SET session_replication_role = replica`, `SET session_replication_role = DEFAULT`
	}
	if _, err := s.write.ExecContext(ctx, fkOff); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	defer s.write.ExecContext(context.WithoutCancel(ctx), fkOn)
	// Random-order index inserts (teams, citizens) need the index pages in
	// memory: a 512 MB cache for the load instead of the writer's 16 MB.
	if !s.pg {
		if _, err := s.write.ExecContext(ctx, `PRAGMA cache_size = -524288`); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		defer s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA `+writerCacheSize)
	}
	gen := &generator{s: s, ctx: ctx, g: g, rng: rand.New(rand.NewPCG(g.Seed, 0x70505)), now: ts(s.now()), hash: hash, progress: progress}
	defer func() {
		if gen.tx != nil {
			gen.tx.Rollback() // an error left a batch open: free the one write connection
		}
	}()
	if err := gen.tree(); err != nil {
		return err
	}
	if err := gen.logs(); err != nil {
		return err
	}
	if err := gen.sessions(); err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE seq SET value = ? WHERE id = 1`, gen.seq); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := s.syncIdentities(ctx); err != nil { // the generator gave its own ids
		return fmt.Errorf("generate: %w", err)
	}
	return s.rebuildRollups(ctx, progress)
}

type generator struct {
	s        *Store
	ctx      context.Context
	g        GenerateOptions
	rng      *rand.Rand
	now      string
	hash     string
	progress func(string, int, int)
	seq      int64
	teams    []genTeam
	tx       *sql.Tx
	intx     int
}

type genTeam struct {
	id, area, member int64
	old              bool // a team of a merged commune: active until mid-2025
}

// batch inserts rows with one multi-row statement per 400 rows. All
// batches share the generator's transaction (the write pool has one
// connection), committed about every 50,000 rows.
type batch struct {
	gen  *generator
	head string
	cols int
	args []any
	n    int
}

func (g *generator) newBatch(head string, cols int) *batch {
	return &batch{gen: g, head: head, cols: cols}
}

func (b *batch) add(vals ...any) error {
	b.args = append(b.args, vals...)
	b.n++
	if b.n == 400 {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	if b.n == 0 {
		return nil
	}
	g := b.gen
	if g.tx == nil {
		tx, _, err := g.s.beginWrite(g.ctx, writeLocks{})
		if err != nil {
			return err
		}
		g.tx = tx
	}
	if _, err := g.tx.ExecContext(g.ctx, b.sql(b.n), b.args...); err != nil {
		return fmt.Errorf("generate %s: %w", b.head, err)
	}
	g.intx += b.n
	b.args, b.n = b.args[:0], 0
	if g.intx >= 50_000 {
		return g.commit()
	}
	return nil
}

func (g *generator) commit() error {
	if g.tx == nil {
		return nil
	}
	err := g.tx.Commit()
	g.tx, g.intx = nil, 0
	g.s.ckpt.committed()
	return err
}

// done flushes the batches in order (parents first) and commits.
func (g *generator) done(bs ...*batch) error {
	for _, b := range bs {
		if err := b.flush(); err != nil {
			return err
		}
	}
	return g.commit()
}

func (b *batch) sql(n int) string {
	return b.head + " VALUES " + valueRows(b.cols, n)
}

func (g *generator) version() int64 { g.seq++; return g.seq }

// tree inserts the areas, lineage, teams and users.
func (g *generator) tree() error {
	g.progress("areas", 0, 1)
	areas := g.newBatch(`INSERT INTO areas (id, parent_id, path, depth, level, name, code, valid_to, population, adults,
		working_age, households, version, created_at, updated_at)`, 15)
	teams := g.newBatch(`INSERT INTO teams (id, area_id, name, active, version, created_at, updated_at)`, 7)
	users := g.newBatch(`INSERT INTO users (id, phone, name, role, team_id, area_id, gender, password_hash, active, version,
		password_changed_at, created_at, updated_at)`, 13)
	id, teamID, userID := int64(1), int64(0), int64(2)
	area := func(parent int64, path, level, name string, code, validTo any, pop int64) (int64, string, error) {
		id++
		p := fmt.Sprintf("%s%d/", path, id)
		depth := strings.Count(p, "/") - 2
		return id, p, areas.add(id, parent, p, depth, level, name, code, validTo, pop, pop*7/10, pop*6/10, pop/4, g.version(), g.now, g.now)
	}
	if err := areas.add(1, nil, "/1/", 0, "province", "Tỉnh Thử Nghiệm", "98", nil, 0, 0, 0, 0, g.version(), g.now, g.now); err != nil {
		return err
	}
	var lineage [][2]int64
	var provincePop int64
	communes := g.g.Communes + g.g.MergedCommunes
	var firstCommune int64
	for c := 0; c < communes; c++ {
		old := c >= g.g.Communes
		var validTo any
		name := fmt.Sprintf("Xã %03d", c+1)
		if old {
			validTo, name = "2025-06-30", fmt.Sprintf("Xã cũ %03d", c+1)
		}
		cid, cpath, err := area(1, "/1/", "commune", name, fmt.Sprintf("98%03d", c+1), validTo, 0)
		if err != nil {
			return err
		}
		if c == 0 {
			firstCommune = cid
		}
		if old {
			lineage = append(lineage, [2]int64{cid, firstCommune + int64(c-g.g.Communes)})
		}
		villages := g.g.VillagesPerCommune
		if old {
			villages = 10
		}
		for v := 0; v < villages; v++ {
			pop := int64(800 + g.rng.IntN(1500))
			provincePop += pop
			vid, _, err := area(cid, cpath, "village", fmt.Sprintf("Thôn %d", v+1), nil, validTo, pop)
			if err != nil {
				return err
			}
			teamID++
			if err := teams.add(teamID, vid, fmt.Sprintf("Tổ %s-%d", name, v+1), 1, g.version(), g.now, g.now); err != nil {
				return err
			}
			t := genTeam{id: teamID, area: vid, member: userID + 1, old: old}
			g.teams = append(g.teams, t)
			for m := 0; m < 5; m++ {
				userID++
				role := RoleMember
				if m == 0 {
					role = RoleTeamLead
				}
				if err := users.add(userID, fmt.Sprintf("08%08d", userID), fmt.Sprintf("Thành viên %d", userID), role, teamID, nil,
					[]string{"female", "male"}[m%2], g.hash, 1, g.version(), g.now, g.now, g.now); err != nil {
					return err
				}
			}
		}
	}
	for _, u := range []struct {
		id    int64
		phone string
		role  Role
		area  any
	}{{1, GeneratedAdminPhone, RoleAdmin, nil}, {2, GeneratedCoordPhone, RoleCoordinator, firstCommune}} {
		if err := users.add(u.id, u.phone, string(u.role), string(u.role), nil, u.area, "", g.hash, 1, g.version(), g.now, g.now, g.now); err != nil {
			return err
		}
	}
	if err := g.done(areas, teams, users); err != nil {
		return err
	}
	err := g.s.tx(g.ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(g.ctx, `UPDATE areas SET population = (SELECT sum(population) FROM areas v WHERE v.parent_id = areas.id),
			adults = (SELECT sum(adults) FROM areas v WHERE v.parent_id = areas.id),
			working_age = (SELECT sum(working_age) FROM areas v WHERE v.parent_id = areas.id),
			households = (SELECT sum(households) FROM areas v WHERE v.parent_id = areas.id) WHERE level = 'commune'`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(g.ctx, `UPDATE areas SET population = ?, adults = ? * 7 / 10, working_age = ? * 6 / 10,
			households = ? / 4 WHERE id = 1`, provincePop, provincePop, provincePop, provincePop); err != nil {
			return err
		}
		for _, l := range lineage {
			if _, err := tx.ExecContext(g.ctx, `INSERT INTO area_lineage (old_area_id, new_area_id, share, effective_on)
				VALUES (?, ?, 1, '2025-07-01')`, l[0], l[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate tree: %w", err)
	}
	g.progress("areas", 1, 1)
	return nil
}

var genServices = []string{"skill_public_services", "skill_online_shopping", "skill_online_payment", "skill_online_safety",
	"skill_local_platforms", "vneid_l1", "vneid_l2", "public_service_account", "public_service_submission", "payment_account",
	"cashless_payment", "online_store", "smartphone_basics", "ehealth", "social_insurance_app", "binh_dan_hoc_vu_so"}

var genBarriers = []string{"no_smartphone", "sim_not_own_name", "elderly_or_disabled", "working_away", "data_mismatch",
	"no_signal", "declined", "other"}

// logs inserts the assistance logs and their outcomes.
func (g *generator) logs() error {
	logs := g.newBatch(`INSERT INTO assistance_logs (id, team_id, area_id, village_id, created_by, occurred_at, citizen_ref,
		age_band, gender, minority, outcomes, locked, deleted, version, created_at, updated_at)`, 16)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var sb strings.Builder
	for i := 0; i < g.g.Logs; i++ {
		t := g.teams[g.rng.IntN(len(g.teams))]
		span := 365 * 24 * time.Hour
		if t.old {
			span = 181 * 24 * time.Hour
		}
		at := start.Add(time.Duration(g.rng.Int64N(int64(span)))).Truncate(time.Second).Format(time.RFC3339)
		var ref any
		if g.rng.IntN(10) < 7 {
			owner := t.id
			if g.rng.IntN(30) == 0 { // a citizen of the neighbouring team
				owner = t.id%int64(len(g.teams)) + 1
			}
			ref = fmt.Sprintf("%064x", owner*1000+int64(g.rng.IntN(700)))
		}
		id := fmt.Sprintf("01950000-0000-7000-8000-%012d", i+1)
		k := 1 + g.rng.IntN(3)
		perm := g.rng.Perm(len(genServices))[:k]
		sb.Reset()
		sb.WriteByte('[')
		for j, p := range perm {
			result, barrier := "done", any(nil)
			switch r := g.rng.IntN(20); {
			case r < 3:
				result, barrier = "not_done", genBarriers[g.rng.IntN(len(genBarriers))]
			case r < 6:
				result = "partial"
			}
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"service":%q,"result":%q`, genServices[p], result)
			if barrier != nil {
				fmt.Fprintf(&sb, `,"barrier":%q`, barrier)
			}
			sb.WriteByte('}')
		}
		sb.WriteByte(']')
		deleted, locked := 0, 0
		if g.rng.IntN(100) == 0 {
			deleted = 1
		} else if g.rng.IntN(20) == 0 {
			locked = 1
		}
		err := logs.add(id, t.id, t.area, t.area, t.member+int64(g.rng.IntN(5)), at, ref,
			[]string{"15_24", "25_34", "35_44", "45_59", "60_plus"}[g.rng.IntN(5)], []string{"female", "male"}[g.rng.IntN(2)],
			g.rng.IntN(8) == 0, sb.String(), locked, deleted, g.version(), g.now, g.now)
		if err != nil {
			return err
		}
		if i%50_000 == 0 {
			g.progress("logs", i, g.g.Logs)
		}
	}
	if err := g.done(logs); err != nil {
		return err
	}
	g.progress("logs", g.g.Logs, g.g.Logs)
	return nil
}

// sessions inserts training sessions (most held or reported).
func (g *generator) sessions() error {
	b := g.newBatch(`INSERT INTO training_sessions (id, team_id, area_id, created_by, updated_by, status, topics, held_at,
		attendees, women, minority, elderly, version, created_at, updated_at)`, 15)
	n := 0
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	total := len(g.teams) * g.g.SessionsPerTeam
	for _, t := range g.teams {
		for k := 0; k < g.g.SessionsPerTeam; k++ {
			n++
			status := []string{"held", "reported", "reported", "locked", "planned", "cancelled"}[g.rng.IntN(6)]
			at := start.Add(time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Minute).Format(time.RFC3339)
			att := 5 + g.rng.IntN(40)
			err := b.add(fmt.Sprintf("01960000-0000-7000-8000-%012d", n), t.id, t.area, t.member, t.member, status,
				fmt.Sprintf(`[%q]`, genServices[g.rng.IntN(len(genServices))]), at, att, g.rng.IntN(att/2+1), g.rng.IntN(att/4+1),
				g.rng.IntN(att/3+1), g.version(), g.now, g.now)
			if err != nil {
				return err
			}
		}
		if n%20_000 < g.g.SessionsPerTeam {
			g.progress("sessions", n, total)
		}
	}
	if err := g.done(b); err != nil {
		return err
	}
	g.progress("sessions", total, total)
	return nil
}
