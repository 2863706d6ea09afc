package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPublishProvince measures publishing one announcement to a
// province of 25,000 users (200 teams) with 30,000 devices: resolving the
// receipts and push outbox rows in the publish transaction, which holds the
// write lock meanwhile.
//
//	go test ./store -run '^$' -bench PublishProvince -benchtime 5x
func BenchmarkPublishProvince(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, testDB(b, "toso.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	prov, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P"})
	if err != nil {
		b.Fatal(err)
	}
	var teams []int64
	for i := range 200 {
		c, err := s.CreateArea(ctx, System, NewArea{ParentID: prov.ID, Level: "commune", Name: fmt.Sprint("C", i)})
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.CreateArea(ctx, System, NewArea{ParentID: c.ID, Level: "village", Name: fmt.Sprint("V", i)})
		if err != nil {
			b.Fatal(err)
		}
		t, err := s.CreateTeam(ctx, System, NewTeam{AreaID: v.ID, Name: fmt.Sprint("T", i)})
		if err != nil {
			b.Fatal(err)
		}
		teams = append(teams, t.ID)
	}
	now := ts(time.Now())
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for i := range 25_000 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, phone, name, role, team_id, password_hash, version, password_changed_at, created_at, updated_at)
				VALUES (?, ?, ?, 'member', ?, 'x', 1, ?5, ?5, ?5)`, 1000+i, fmt.Sprintf("09%08d", i), fmt.Sprint("M", i), teams[i%len(teams)], now); err != nil {
				return err
			}
		}
		for i := range 30_000 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, user_id, platform, push_token, push_token_updated_at, last_seen_at, created_at)
				VALUES (?, ?, 'android', ?, ?4, ?4, ?4)`, fmt.Sprintf("00000000-0000-4000-8000-%012d", i), 1000+i%25_000, fmt.Sprint("tok-", i), now); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, phone, name, role, password_hash, version, password_changed_at, created_at, updated_at)
			VALUES (1, '0800000000', 'admin', 'admin', 'x', 1, ?1, ?1, ?1)`, now)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := s.Actor(ctx, 1, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		an, err := s.CreateAnnouncement(ctx, admin, NewAnnouncement{Title: "t", Body: "b", Audience: Audience{AreaIDs: []int64{prov.ID}}})
		if err != nil {
			b.Fatal(err)
		}
		an, err = s.PublishAnnouncement(ctx, admin, an.ID, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if an.Recipients != 25_000 {
			b.Fatalf("got %d recipients, want 25000", an.Recipients)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/publish")
}
