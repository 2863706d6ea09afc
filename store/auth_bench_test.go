package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// authBenchProvince is a province's worth of sign-ins: 5,000 teams of 5 members,
// each member with a device and a live session whose family also holds a
// token spent in the grace window (the steady state after a refresh).
func authBenchProvince(b *testing.B) (*Store, []*Session) {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, testDB(b, "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const teams, perTeam = 5000, 5
	now := s.now()
	var sessions []*Session
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		at := ts(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO areas (id, path, depth, level, name, created_at, updated_at)
			VALUES (1, '/1/', 0, 'province', 'Tỉnh', ?, ?)`, at, at); err != nil {
			return err
		}
		for t := 1; t <= teams; t++ {
			area := int64(1 + t)
			if _, err := tx.ExecContext(ctx, `INSERT INTO areas (id, parent_id, path, depth, level, name, created_at, updated_at)
				VALUES (?, 1, ?, 1, 'village', ?, ?, ?)`, area, fmt.Sprintf("/1/%d/", area), fmt.Sprintf("Thôn %d", t), at, at); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, area_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				t, area, fmt.Sprintf("Tổ %d", t), at, at); err != nil {
				return err
			}
			for m := range perTeam {
				id := int64((t-1)*perTeam + m + 1)
				if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, phone, name, role, team_id, password_hash,
					password_changed_at, created_at, updated_at) VALUES (?, ?, ?, 'member', ?, ?, ?, ?, ?)`,
					id, fmt.Sprintf("09%08d", id), "Thành viên", t, dummyHash, at, at, at); err != nil {
					return err
				}
				d := DeviceInfo{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", id), Platform: "android", AppVersion: "1.0.0"}
				if err := s.bindDevice(ctx, tx, id, d, now); err != nil {
					return err
				}
				spent := newSession(fmt.Sprintf("10000000-0000-4000-8000-%012d", id), id, d.ID, now, 60*24*time.Hour)
				if err := s.insertRefreshToken(ctx, tx, spent, now); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET spent_at = ? WHERE token_hash = ?`, at, hashToken(spent.RefreshToken)); err != nil {
					return err
				}
				live := newSession(spent.ID, id, d.ID, now, 60*24*time.Hour)
				if err := s.insertRefreshToken(ctx, tx, live, now); err != nil {
					return err
				}
				sessions = append(sessions, live)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, sessions
}

// BenchmarkAuthenticate is the per-request actor query: "actor" without the
// session check, "session" with it (what authenticate runs); the difference
// is the price of making logout and revocation immediate. One province is
// shared by the sub-benchmarks, so they compare on the same data in one run.
func BenchmarkAuthenticate(b *testing.B) {
	s, sessions := authBenchProvince(b)
	ctx := context.Background()
	b.Run("actor", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			sess := sessions[rng.IntN(len(sessions))]
			if _, err := s.Actor(ctx, sess.UserID, sess.DeviceID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			sess := sessions[rng.IntN(len(sessions))]
			if _, err := s.SessionActor(ctx, sess.UserID, sess.DeviceID, sess.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session_parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
			for pb.Next() {
				sess := sessions[rng.IntN(len(sessions))]
				if _, err := s.SessionActor(ctx, sess.UserID, sess.DeviceID, sess.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkRefresh rotates random sessions: one write transaction each,
// synchronous=FULL, so it measures the fsync-bound refresh rate (the 7–9 am
// storm is refreshes).
func BenchmarkRefresh(b *testing.B) {
	s, sessions := authBenchProvince(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for b.Loop() {
		i := rng.IntN(len(sessions))
		next, err := s.Refresh(ctx, sessions[i].RefreshToken, sessions[i].DeviceID, 60*24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		sessions[i] = next
	}
}

// BenchmarkLogin is a login with the right password: argon2id (19 MiB, t=2)
// plus the write transaction that binds the device and opens the session.
func BenchmarkLogin(b *testing.B) {
	s, sessions := authBenchProvince(b)
	ctx := context.Background()
	u := sessions[0]
	if _, err := s.write.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`,
		s.hashPassword("bench-password"), u.UserID); err != nil {
		b.Fatal(err)
	}
	d := DeviceInfo{ID: u.DeviceID, Platform: "android", AppVersion: "1.0.0"}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Login(ctx, fmt.Sprintf("09%08d", u.UserID), "bench-password", d, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
