package store

import (
	"context"
	"flag"
	"testing"
	"time"
)

var coordDB = flag.String("coord.db", "", "a province made by `toso generate --teams 5000 --activity` (a copy: the benchmarks write to it), for the coordinator-tool benchmarks")

// coordProvince opens the -coord.db province, skipping without it, and
// makes sure it holds what the benchmarks read: a province-wide
// announcement with acknowledgement, a third read and a sixth
// acknowledged; a running campaign on the province allocated to its
// communes; device activity for every phone.
func coordProvince(b *testing.B) (*Store, *Area, *Announcement) {
	b.Helper()
	if *coordDB == "" {
		b.Skip("-coord.db PROVINCE.db not given")
	}
	ctx := context.Background()
	s, err := Open(ctx, *coordDB, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	prov, err := scanArea(s.read.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE level = 'province' ORDER BY id LIMIT 1`))
	if err != nil {
		b.Fatal(err)
	}
	var annID int64
	err = s.read.QueryRowContext(ctx, `SELECT id FROM announcements WHERE title = 'Bench: toàn tỉnh' LIMIT 1`).Scan(&annID)
	if err != nil {
		start := time.Now()
		admin := Actor{Role: RoleAdmin}
		if err := s.read.QueryRowContext(ctx, `SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1`).Scan(&admin.UserID); err != nil {
			b.Fatal(err)
		}
		an, err := s.CreateAnnouncement(ctx, admin, NewAnnouncement{Title: "Bench: toàn tỉnh", Body: "Đo tốc độ", AckRequired: true,
			Audience: Audience{AreaIDs: []int64{prov.ID}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.PublishAnnouncement(ctx, admin, an.ID, time.Time{}); err != nil {
			b.Fatal(err)
		}
		now := ts(s.now())
		if _, err := s.write.ExecContext(ctx, `UPDATE announcement_receipts SET delivered_at = ?2,
			read_at = CASE WHEN user_id % 3 = 0 THEN ?2 END, acked_at = CASE WHEN user_id % 6 = 0 THEN ?2 END
			WHERE announcement_id = ?1 AND user_id % 2 = 0`, an.ID, now); err != nil {
			b.Fatal(err)
		}
		annID = an.ID
		g, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: prov.ID, Period: "campaign",
			Name: "Bench: chiến dịch", StartsOn: Today(s.now().AddDate(0, -3, 0)), EndsOn: Today(s.now().AddDate(0, 1, 0)), Goal: 100000})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.AllocateTarget(ctx, System, g.ID, AllocateProportional, true); err != nil {
			b.Fatal(err)
		}
		b.Logf("bench fixtures (announcement to the province, campaign) in %s", time.Since(start).Round(time.Millisecond))
	}
	an, err := s.Announcement(ctx, System, annID)
	if err != nil {
		b.Fatal(err)
	}
	return s, prov, an
}

// recordAll records a push and a pull for every phone (every step-th).
func recordAll(b *testing.B, s *Store, step int) int {
	b.Helper()
	rows, err := s.read.Query(`SELECT id FROM devices WHERE platform <> 'web' AND abs(random()) % ? = 0`, step)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		s.RecordDeviceActivity(id, ActivityPush, n%7, "1.0.0")
		s.RecordDeviceActivity(id, ActivityPull, n%7, "")
		n++
	}
	return n
}

func firstCommune(b *testing.B, s *Store, prov *Area) *Area {
	b.Helper()
	c, err := scanArea(s.read.QueryRow(`SELECT `+areaColumns+` FROM areas WHERE parent_id = ? AND level = 'commune' ORDER BY id LIMIT 1`, prov.ID))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// go test ./store -run '^$' -bench Coord -benchtime 10x -coord.db COPY.db
func BenchmarkCoordReceiptsProvince(b *testing.B) {
	s, prov, an := coordProvince(b)
	ctx := context.Background()
	for b.Loop() {
		t, err := s.ReceiptsByArea(ctx, System, an.ID, prov.ID, "")
		if err != nil || t.Total.Recipients < 20000 {
			b.Fatalf("%+v %v", t.Total, err)
		}
	}
}

func BenchmarkCoordReceiptsCommune(b *testing.B) {
	s, prov, an := coordProvince(b)
	c := firstCommune(b, s, prov)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.ReceiptsByArea(ctx, System, an.ID, c.ID, RoleTeamLead); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoordUnacknowledged(b *testing.B) {
	s, prov, an := coordProvince(b)
	ctx := context.Background()
	for b.Loop() {
		ps, err := s.Unacknowledged(ctx, System, an.ID, prov.ID, "", 0, 100)
		if err != nil || len(ps) != 100 {
			b.Fatalf("%d %v", len(ps), err)
		}
	}
}

// BenchmarkCoordFlushActivity flushes every phone of the province at once
// (the worst case: a flush after a long outage).
func BenchmarkCoordFlushActivity(b *testing.B) { benchFlush(b, 1) }

// BenchmarkCoordFlushStorm30s flushes one phone in 17, what the morning
// storm (25,000 phones in ~10 minutes, 43 a second) records in 30 s.
func BenchmarkCoordFlushStorm30s(b *testing.B) { benchFlush(b, 17) }

func benchFlush(b *testing.B, step int) {
	s, _, _ := coordProvince(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		n := recordAll(b, s, step)
		b.StartTimer()
		if got, err := s.FlushDeviceActivity(ctx); err != nil || got != n {
			b.Fatalf("flushed %d of %d: %v", got, n, err)
		}
	}
}

func BenchmarkCoordSyncHealthCommune(b *testing.B) {
	s, prov, _ := coordProvince(b)
	c := firstCommune(b, s, prov)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.SyncHealth(ctx, System, SyncHealthFilter{AreaID: c.ID, Limit: 500}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoordSyncHealthProvincePage is the API's first page of the
// province: 500 teams with their phones' rejections and conflicts.
func BenchmarkCoordSyncHealthProvincePage(b *testing.B) {
	s, prov, _ := coordProvince(b)
	ctx := context.Background()
	for b.Loop() {
		if p, err := s.SyncHealth(ctx, System, SyncHealthFilter{AreaID: prov.ID, Limit: 500}); err != nil || len(p.Teams) != 500 {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoordSyncHealthProvince reads every page of the province, 500
// teams a page, brief (the dashboard's province view).
func BenchmarkCoordSyncHealthProvince(b *testing.B) {
	s, prov, _ := coordProvince(b)
	ctx := context.Background()
	for b.Loop() {
		f := SyncHealthFilter{AreaID: prov.ID, Limit: 500, Brief: true}
		teams := 0
		for {
			p, err := s.SyncHealth(ctx, System, f)
			if err != nil {
				b.Fatal(err)
			}
			teams += len(p.Teams)
			if p.Next == 0 {
				break
			}
			f.After = p.Next
		}
		if teams < 5000 {
			b.Fatalf("%d teams", teams)
		}
	}
}

func BenchmarkCoordRefreshCampaignRanks(b *testing.B) {
	s, _, _ := coordProvince(b)
	ctx := context.Background()
	for b.Loop() {
		if n, err := s.RefreshCampaignRanks(ctx); err != nil || n < 5000 {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
}

func BenchmarkCoordTeamCampaignRanks(b *testing.B) {
	s, _, _ := coordProvince(b)
	ctx := context.Background()
	if _, err := s.RefreshCampaignRanks(ctx); err != nil {
		b.Fatal(err)
	}
	var team int64
	if err := s.read.QueryRow(`SELECT team_id FROM campaign_ranks LIMIT 1`).Scan(&team); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if rs, err := s.TeamCampaignRanks(ctx, team); err != nil || len(rs) == 0 {
			b.Fatalf("%v %v", rs, err)
		}
	}
}
