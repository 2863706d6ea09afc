package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"toso/store"
)

// healthOf is a device's entry in the sync health of area as coordinator.
func healthOf(t *testing.T, e *testEnv, coord string, area int64, user string) map[string]any {
	t.Helper()
	r := e.do("GET", fmt.Sprintf("/v1/sync-health?area_id=%d", area), e.token(coord), nil)
	if r.Status != 200 {
		t.Fatalf("sync health: %d %s", r.Status, r.Body)
	}
	for _, it := range r.JSON(t)["items"].([]any) {
		for _, d := range it.(map[string]any)["devices"].([]any) {
			if dm := d.(map[string]any); dm["user_name"] == user {
				return dm
			}
		}
	}
	t.Fatalf("no device of %s in %s", user, r.Body)
	return nil
}

// The outbox size a phone reports with push and pull, and the times of
// both, reach the coordinator's sync health at the next flush, not before
// (a pull writes nothing); a negative size is refused and named.
func TestSyncHealthThroughTheAPI(t *testing.T) {
	e := newTestEnv(t)
	e.clock.freeze()
	push := map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1, "app_version": "1.3.0",
		"pending_mutations": 3, "mutations": []any{logCreate(1, uuidN(1))}}
	if r := e.do("POST", "/v1/sync/push", e.token("memberA1"), push); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	pushedAt := e.clock.now()
	e.clock.advance(time.Minute)
	pull := map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1, "pending_mutations": 0}
	if r := e.do("POST", "/v1/sync/pull", e.token("memberA1"), pull); r.Status != 200 {
		t.Fatalf("pull: %d %s", r.Status, r.Body)
	} else if _, ok := r.JSON(t)["campaign_ranks"]; ok {
		t.Errorf("a member's pull carries campaign_ranks: %s", r.Body)
	}
	d := healthOf(t, e, "coordA", e.villageA1.ID, "memberA1")
	if d["last_push_at"] != nil || d["pending_mutations"] != nil {
		t.Errorf("before a flush the device shows %v / %v: the recorder wrote on the request path", d["last_push_at"], d["pending_mutations"])
	}
	if n, err := e.store.FlushDeviceActivity(context.Background()); err != nil || n != 1 {
		t.Fatalf("flush: %d devices, %v; want 1", n, err)
	}
	d = healthOf(t, e, "coordA", e.villageA1.ID, "memberA1")
	want := map[string]any{"last_push_at": rfc(pushedAt), "last_pull_at": rfc(e.clock.now()), "last_sync_at": rfc(e.clock.now()),
		"pending_mutations": 0.0, "app_version": "1.3.0"}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("memberA1's phone %s: got %v, want %v", k, d[k], v)
		}
	}
	if rej := d["rejected_7d"].(map[string]any); len(rej) != 0 {
		t.Errorf("rejections: %v, want none", rej)
	}
	bad := map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1, "pending_mutations": -1}
	r := e.do("POST", "/v1/sync/pull", e.token("memberA1"), bad)
	if r.Status != 422 || r.JSON(t)["error"].(map[string]any)["fields"].(map[string]any)["pending_mutations"] == nil {
		t.Errorf("a negative pending_mutations: %d %s, want 422 naming the field", r.Status, r.Body)
	}
}

func rfc(t time.Time) string { return store.Truncate(t).Format(time.RFC3339Nano) }

// A team lead's pull carries the team's standing in each running
// campaign (from the table the job keeps); a member's does not; the
// reference phone keeps it.
func TestCampaignRanksAtPull(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	// An hour ago, on the Vietnam day it fell on (the campaign counts days
	// in Vietnam time, and a log may not be in the future).
	at := e.clock.now().Add(-time.Hour).UTC()
	start := at.AddDate(0, 0, -10).Format(time.DateOnly)
	end := at.AddDate(0, 1, 0).Format(time.DateOnly)
	if _, err := e.store.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: e.communeA.ID,
		Period: "campaign", Name: "Tháng VNeID", StartsOn: start, EndsOn: end, Goal: 100}); err != nil {
		t.Fatal(err)
	}
	// Team A2 helps one citizen today, team A1 none: A2 first, A1 second.
	if r := e.push("memberA2", logCreate(1, uuidN(2), "occurred_at", at.Format(time.RFC3339), "citizen_id_number", "038090001234")); r.Results[0].Status != "applied" {
		t.Fatalf("team A2's log: %+v", r.Results[0])
	}
	if _, err := e.store.RefreshCampaignRanks(ctx); err != nil {
		t.Fatal(err)
	}
	base := e.listen()
	lead := openPhone(t, e, base, filepath.Join(t.TempDir(), "lead.db"), "leadA1", nil)
	if err := lead.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ranks, err := lead.CampaignRanks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranks) != 1 || ranks[0].Name != "Tháng VNeID" || ranks[0].CommuneRank != 2 || ranks[0].CommuneTeams != 2 ||
		ranks[0].ProvinceRank != 2 || ranks[0].ProvinceTeams != 2 || ranks[0].Citizens != 0 {
		t.Errorf("the lead's campaign ranks: %+v, want Tháng VNeID, 2nd of 2 in the commune and of the campaign's 2 teams in the province", ranks)
	}
	member := openPhone(t, e, base, filepath.Join(t.TempDir(), "member.db"), "memberA1", nil)
	if err := member.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := member.CampaignRanks(ctx); got != nil {
		t.Errorf("a member's phone got campaign ranks: %+v", got)
	}
}

// The reference phone reports its outbox with every push and pull; what
// the handlers recorded is flushed when the server shuts down, even when
// the periodic flush has not run.
func TestDeviceActivityFlushedAtShutdown(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.ActivityFlushEvery = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- e.srv.Run(ctx, func(a net.Addr) { addrc <- a.String() }) }()
	base := "http://" + <-addrc
	c := openPhone(t, e, base, filepath.Join(t.TempDir(), "a1.db"), "memberA1", nil)
	for i := range 3 {
		if _, err := c.Create(ctx, "assistance_logs", uuidN(10+i), map[string]any{"occurred_at": "2026-11-20T09:12:00Z",
			"outcomes": []map[string]string{{"service": "vneid_l2", "result": "done"}}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rawDB(t, e).QueryRow(`SELECT count(*) FROM device_activity`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("device_activity before shutdown: %d rows (%v), want none yet", n, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	var push, pull, login string
	var pending int
	err := rawDB(t, e).QueryRow(`SELECT last_push_at, last_pull_at, last_login_at, pending_mutations FROM device_activity WHERE device_id = ?`,
		c.DeviceID()).Scan(&push, &pull, &login, &pending)
	if err != nil || push == "" || pull == "" || login == "" || pending != 0 {
		t.Errorf("after shutdown: push %q pull %q login %q pending %d (%v), want all three times and 0 pending (the outbox was emptied)",
			push, pull, login, pending, err)
	}
}

// A version filter that is not a version is refused naming the field, in
// Vietnamese by default and in English on request.
func TestSyncHealthBadVersionIsExplained(t *testing.T) {
	e := newTestEnv(t)
	for _, c := range []struct{ lang, want string }{{"", "app_version_below phải là số phiên bản, ví dụ 1.4.0"},
		{"en", "app_version_below must be a version such as 1.4.0"}} {
		var h []string
		if c.lang != "" {
			h = []string{"Accept-Language", c.lang}
		}
		r := e.do("GET", fmt.Sprintf("/v1/sync-health?area_id=%d&app_version_below=1.x", e.communeA.ID), e.token("coordA"), nil, h...)
		if got := r.JSON(t)["error"].(map[string]any)["fields"].(map[string]any)["app_version_below"]; r.Status != 422 || got != c.want {
			t.Errorf("Accept-Language %q: %d, field message %q, want 422 %q", c.lang, r.Status, got, c.want)
		}
	}
}
