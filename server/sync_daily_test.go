package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"toso/store"
)

// pullRaw pulls as key with the cursors and limit, in a language, and
// returns the decoded body.
func (e *testEnv) pullRaw(key string, cursors map[string]string, limit int, lang string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/v1/sync/pull", e.token(key), map[string]any{
		"protocol": 1, "device_id": e.deviceOf(key), "schema_version": 1, "cursors": cursors, "limit": limit,
	}, "Accept-Language", lang)
	if r.Status != 200 {
		e.t.Fatalf("pull: %d %s", r.Status, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// A team lead's pull ends with the team's daily summary, the same text as
// GET /v1/reports/daily-summary?team_id=: only on the last page (a page
// with more to come leaves it out), in the request's language; members'
// and coordinators' pulls never carry it.
func TestPullCarriesTheLeadsDailySummary(t *testing.T) {
	e := newTestEnv(t)
	e.clock.freeze()
	now := e.clock.now().UTC().Truncate(time.Minute).Format(time.RFC3339)
	today := store.Today(e.clock.now())
	e.push("memberA1", logCreate(1, uuidN(1), "occurred_at", now, "citizen_id_number", "038090001234"),
		logCreate(2, uuidN(2), "occurred_at", now, "citizen_id_number", "038090001234"))
	cursors := map[string]string{}
	pages, last := 0, map[string]any{}
	for ; pages < 100; pages++ {
		p := e.pullRaw("leadA1", cursors, 1, "vi")
		more := false
		for name, sc := range p["scopes"].(map[string]any) {
			s := sc.(map[string]any)
			cursors[name] = s["cursor"].(string)
			more = more || s["has_more"].(bool)
		}
		if more {
			if _, ok := p["daily_summary"]; ok {
				t.Fatalf("page %d has more to come and carries the daily summary", pages)
			}
			continue
		}
		last = p
		break
	}
	if pages < 2 {
		t.Fatalf("the pull took %d pages; the test needs a page with more to come", pages+1)
	}
	ds, ok := last["daily_summary"].(map[string]any)
	if !ok {
		t.Fatalf("the last page has no daily_summary: %v", last)
	}
	r := e.do("GET", fmt.Sprintf("/v1/reports/daily-summary?team_id=%d", e.teamA1.ID), e.token("leadA1"), nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("daily summary: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if ds["day"] != today || ds["text"] != string(r.Body) {
		t.Errorf("pull's daily_summary %v, want day %s and the API's text:\n%s", ds, today, r.Body)
	}
	if text := ds["text"].(string); !strings.HasPrefix(text, "Tổ A1 – Thôn A1\n") ||
		!strings.Contains(text, "• Hỗ trợ người dân: 2 lượt, 1 người mới\n  - Kích hoạt định danh điện tử VNeID mức 2: 2") {
		t.Errorf("daily summary text:\n%s", text)
	}
	en := e.pullRaw("leadA1", cursors, 500, "en")["daily_summary"].(map[string]any)["text"].(string)
	if !strings.Contains(en, "• Citizens helped: 2 visits, 1 new citizens") {
		t.Errorf("English daily summary:\n%s", en)
	}
	for _, key := range []string{"memberA1", "coordA", "admin"} {
		if _, ok := e.pullRaw(key, map[string]string{}, 500, "vi")["daily_summary"]; ok {
			t.Errorf("%s's pull carries a daily summary", key)
		}
	}
}
