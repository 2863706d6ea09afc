package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"toso/phone"
	"toso/store"
)

// The steps of the simulation: one phone does one thing, chosen by the RNG.

func (s *sim) step(step, steps int) {
	switch step {
	case steps / 3: // a member moves to another team with work pending
		s.move("memberA1", s.e.teamA2.ID)
	case steps / 2: // a member loses access mid-run
		s.revoke("memberA1c")
	case 2 * steps / 3:
		s.move("memberA2", s.e.teamA1.ID)
	case steps / 5, 2 * steps / 5: // a coordinator announces to commune A, then the province
		s.announce(step == steps/5)
	case 3 * steps / 4: // and takes the first one back
		s.retract()
	case 5 * steps / 6: // the server prunes as if half a year had passed
		if err := s.e.store.PruneSync(s.ctx, s.now().Add(store.TombstoneHorizon+24*time.Hour)); err != nil {
			s.t.Fatal(err)
		}
		s.logf("prune past the horizon")
	}
	p := s.phones[s.rng.IntN(len(s.phones))]
	switch r := s.rng.IntN(100); {
	case r < 18:
		s.createLog(p)
	case r < 24:
		s.editLog(p, false)
	case r < 27:
		s.editLog(p, true)
	case r < 32:
		s.createSession(p)
	case r < 42:
		s.patchSession(p)
	case r < 50:
		s.addAttendee(p)
	case r < 53:
		s.report(p)
	case r < 66:
		st, err := p.c.Push(s.ctx)
		s.expect(p, "push", err)
		s.logf("%s/%d push: %+v err %v", p.key, phoneIndex(s, p), st, err)
	case r < 82:
		limit := 500
		if s.rng.IntN(2) == 0 {
			limit = 1 + s.rng.IntN(4)
		}
		s.pull(p, limit)
	case r < 86:
		p.c.ExpireAccessToken()
	case r < 88: // the app is killed and started again
		p.c.Close()
		s.open(p)
	case r < 90:
		s.attack()
	case r < 94: // the user opens an announcement, or acknowledges it
		s.readAnnouncement(p)
	default: // what the app's sync button does: push, then pull until quiet
		_, err := p.c.Push(s.ctx)
		s.expect(p, "push", err)
		s.pull(p, 500)
	}
}

func (s *sim) move(key string, team int64) {
	if _, err := s.e.store.UpdateUser(s.ctx, store.System, s.e.users[key].ID, store.UserPatch{TeamID: &team}); err != nil {
		s.t.Fatal(err)
	}
	s.team[key] = team
	s.logf("move %s to team %d", key, team)
}

func (s *sim) revoke(key string) {
	off := false
	if _, err := s.e.store.UpdateUser(s.ctx, store.System, s.e.users[key].ID, store.UserPatch{Active: &off}); err != nil {
		s.t.Fatal(err)
	}
	for _, p := range s.phones {
		if p.key == key {
			p.revoked = true
		}
	}
	s.logf("deactivate %s", key)
}

// pull pulls with a page limit and checks that no cursor went backwards.
func (s *sim) pull(p *simPhone, limit int) {
	p.c.SetPageLimit(limit)
	st, err := p.c.Pull(s.ctx)
	s.expect(p, "pull", err)
	if st.Mismatch > 0 {
		s.t.Errorf("seed %d: phone %s: %d digest mismatches: the local copy disagreed with the server", s.seed, p.key, st.Mismatch)
	}
	if st.Resets > 0 {
		p.cursors = map[string]int64{}
	}
	scopes, serr := p.c.Scopes(s.ctx)
	if serr != nil {
		s.t.Fatal(serr)
	}
	seen := map[string]int64{}
	for _, sc := range scopes {
		cur, _ := p.c.Cursor(s.ctx, sc)
		n, _ := strconv.ParseInt(strings.SplitN(cur, ".", 2)[0], 10, 64)
		if prev, ok := p.cursors[sc]; ok && n < prev {
			s.t.Errorf("seed %d: phone %s: cursor of %s went back from %d to %d", s.seed, p.key, sc, prev, n)
		}
		seen[sc] = n
	}
	p.cursors = seen // a scope removed and added again starts over
	s.logf("%s/%d pull limit %d: %+v err %v cursors %v", p.key, phoneIndex(s, p), limit, st, err, seen)
}

func (s *sim) createLog(p *simPhone) {
	team := s.team[p.key]
	if team == 0 {
		return
	}
	w := simWrite{table: "assistance_logs", op: "create", id: s.uuid()}
	f := map[string]any{"team_id": team, "occurred_at": s.occurredAt(p)}
	if s.rng.IntN(12) == 0 { // the device clock runs ahead: visibly rejected
		f["occurred_at"] = s.now().Add(time2h(2 + s.rng.IntN(100))).UTC().Format("2006-01-02T15:04:05Z")
		w.future = true
	}
	var outcomes []map[string]any
	for _, i := range s.rng.Perm(len(simServices))[:1+s.rng.IntN(2)] {
		o := map[string]any{"service": simServices[i], "result": []string{"done", "partial", "not_done"}[s.rng.IntN(3)]}
		if o["result"] == "not_done" {
			o["barrier"] = simBarriers[s.rng.IntN(len(simBarriers))]
		}
		outcomes = append(outcomes, o)
	}
	f["outcomes"] = outcomes
	switch s.rng.IntN(5) {
	case 0:
		f["citizen_id_number"] = fmt.Sprintf("0380%08d", s.rng.IntN(1e8))
	case 1:
		f["citizen_phone"] = fmt.Sprintf("09%08d", s.rng.IntN(1e8))
	case 2:
		f["consent"], f["citizen_name"] = true, fmt.Sprintf("Công dân %d", s.rng.IntN(50))
	}
	s.write(p, w, phone.Mutation{Table: w.table, Op: "create", ID: w.id, Fields: mustJSON(f)})
}

// localRows lists the phone's rows of table, by id, with their versions.
func (s *sim) localRows(p *simPhone, table string) (ids []string, versions map[string]int64, data map[string]json.RawMessage) {
	rows, err := p.c.Rows(s.ctx, "")
	if err != nil {
		s.t.Fatal(err)
	}
	versions, data = map[string]int64{}, map[string]json.RawMessage{}
	for _, r := range rows {
		if r.Table != table {
			continue
		}
		if _, ok := versions[r.ID]; !ok {
			ids = append(ids, r.ID)
		}
		versions[r.ID], data[r.ID] = r.Version, r.Data
	}
	sort.Strings(ids)
	return ids, versions, data
}

// editLog patches or deletes one of the phone's own logs.
func (s *sim) editLog(p *simPhone, del bool) {
	var own []string
	for _, mid := range sortedMids(p.writes) {
		if w := p.writes[mid]; w.table == "assistance_logs" && w.op == "create" && !w.future {
			own = append(own, w.id)
		}
	}
	if len(own) == 0 {
		return
	}
	id := own[s.rng.IntN(len(own))]
	_, versions, _ := s.localRows(p, "assistance_logs")
	w := simWrite{table: "assistance_logs", op: "patch", id: id, base: versions[id]}
	m := phone.Mutation{Table: w.table, Op: "patch", ID: id, BaseVersion: w.base, Fields: mustJSON(map[string]any{"notes": fmt.Sprintf("note %d", s.rng.IntN(1000))})}
	if del {
		w.op, m.Op, m.Fields = "delete", "delete", nil
	}
	s.write(p, w, m)
}

func (s *sim) createSession(p *simPhone) {
	team := s.team[p.key]
	if team == 0 {
		return
	}
	w := simWrite{table: "training_sessions", op: "create", id: s.uuid(),
		fields: map[string]any{"place": fmt.Sprintf("Nhà văn hóa %d", s.rng.IntN(100))}}
	f := map[string]any{"team_id": team}
	for k, v := range w.fields {
		f[k] = v
	}
	s.write(p, w, phone.Mutation{Table: w.table, Op: "create", ID: w.id, Fields: mustJSON(f)})
}

// aSession picks a session the phone holds (its own unpushed ones too).
func (s *sim) aSession(p *simPhone) (string, int64) {
	ids, versions, _ := s.localRows(p, "training_sessions")
	for _, mid := range sortedMids(p.writes) {
		if w := p.writes[mid]; w.table == "training_sessions" && w.op == "create" {
			if _, ok := versions[w.id]; !ok {
				ids = append(ids, w.id)
			}
		}
	}
	if len(ids) == 0 {
		return "", 0
	}
	id := ids[s.rng.IntN(len(ids))]
	return id, versions[id]
}

// patchSession edits one field of a session, so phones of the same team
// clash on the same fields.
func (s *sim) patchSession(p *simPhone) {
	id, base := s.aSession(p)
	if id == "" {
		return
	}
	field := []string{"place", "notes"}[s.rng.IntN(2)]
	value := fmt.Sprintf("%s %s %d", field, p.key, s.rng.IntN(1000))
	w := simWrite{table: "training_sessions", op: "patch", id: id, base: base, fields: map[string]any{field: value}}
	s.write(p, w, phone.Mutation{Table: w.table, Op: "patch", ID: id, BaseVersion: base, Fields: mustJSON(w.fields)})
}

// addAttendee adds one of a few people to a session: phones adding the
// same person must converge on one row.
func (s *sim) addAttendee(p *simPhone) {
	session, _ := s.aSession(p)
	if session == "" {
		return
	}
	w := simWrite{table: "session_attendees", op: "create", id: s.uuid(), session: session, person: fmt.Sprintf("Người %d", s.rng.IntN(4))}
	s.write(p, w, phone.Mutation{Table: w.table, Op: "create", ID: w.id,
		Fields: mustJSON(map[string]any{"session_id": session, "name": w.person, "consent": true})})
}

func (s *sim) report(p *simPhone) {
	if s.e.users[p.key].Role != store.RoleTeamLead {
		return
	}
	w := simWrite{table: "progress_reports", op: "create", id: s.uuid()}
	s.write(p, w, phone.Mutation{Table: w.table, Op: "create", ID: w.id, Fields: mustJSON(map[string]any{
		"indicator": "households_fibre", "as_of": "2026-11-01", "value": s.rng.IntN(500)})})
}

// attack: a member of team B pushes into team A's rows, then pushes with
// another user's device id and signs in with it. Nothing may change.
func (s *sim) attack() {
	db := s.db()
	var logID, sessionID string
	db.QueryRow(`SELECT id FROM assistance_logs WHERE team_id = ? ORDER BY id LIMIT 1`, s.e.teamA1.ID).Scan(&logID)
	db.QueryRow(`SELECT id FROM training_sessions WHERE team_id = ? ORDER BY id LIMIT 1`, s.e.teamA1.ID).Scan(&sessionID)
	if logID == "" || sessionID == "" {
		return
	}
	before := s.snapshot()
	next := func() int64 { s.attackMid++; return s.attackMid }
	muts := []mut{
		{"mid": next(), "table": "assistance_logs", "op": "patch", "id": logID, "fields": map[string]any{"notes": "intrusion"}},
		{"mid": next(), "table": "assistance_logs", "op": "delete", "id": logID},
		{"mid": next(), "table": "training_sessions", "op": "patch", "id": sessionID, "fields": map[string]any{"notes": "intrusion"}},
		{"mid": next(), "table": "session_attendees", "op": "create", "id": s.uuid(), "fields": map[string]any{"session_id": sessionID, "name": "Kẻ lạ", "consent": true}},
		logCreate(next(), s.uuid(), "team_id", s.e.teamA1.ID),
		{"mid": next(), "table": "training_sessions", "op": "create", "id": sessionID, "fields": map[string]any{"place": "intrusion"}},
	}
	for _, r := range s.e.push("memberB1", muts...).Results {
		if r.Status != "rejected" {
			s.t.Errorf("seed %d: attacker mutation %d: got %s, want rejected", s.seed, r.Mid, r.Status)
		}
	}
	// The victim is a phone whose device the server has bound to its user:
	// a login lost to the network leaves a device unknown to the server,
	// and an unknown device id is anyone's to sign in with first.
	var victim *simPhone
	for _, p := range s.phones {
		var owner int64
		db.QueryRow(`SELECT user_id FROM devices WHERE id = ? AND released_at IS NULL`, p.c.DeviceID()).Scan(&owner)
		if owner != 0 && owner != s.e.users["memberB1"].ID {
			victim = p
			break
		}
	}
	if victim == nil {
		return
	}
	r := s.e.do("POST", "/v1/sync/push", s.e.token("memberB1"), map[string]any{
		"protocol": 1, "device_id": victim.c.DeviceID(), "schema_version": 1, "app_version": "1.0.0",
		"mutations": []mut{{"mid": 1, "table": "assistance_logs", "op": "patch", "id": logID, "fields": map[string]any{"notes": "stolen device"}}},
	})
	if r.Status == http.StatusOK {
		s.t.Errorf("seed %d: push with another user's device id: status 200 %s", s.seed, r.Body)
	}
	r = s.e.do("POST", "/v1/auth/login", "", map[string]any{"phone": s.users["memberB1"], "password": "password-memberB1",
		"device_id": victim.c.DeviceID(), "platform": "android", "app_version": "1.0.0"})
	if r.Status == http.StatusOK {
		s.t.Errorf("seed %d: login with another user's device id: status 200", s.seed)
	}
	if after := s.snapshot(); after != before {
		s.t.Errorf("seed %d: the attack changed synced data", s.seed)
	}
	s.logf("attack on log %s, session %s", logID, sessionID)
}

func sortedMids(m map[int64]simWrite) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// announce publishes an announcement as coordP, to commune A or the whole
// province: its recipients' phones get it in their user: scope.
func (s *sim) announce(communeA bool) {
	area := s.e.province.ID
	if communeA {
		area = s.e.communeA.ID
	}
	a, err := s.e.store.Actor(s.ctx, s.e.users["coordP"].ID, "")
	if err != nil {
		s.t.Fatal(err)
	}
	an, err := s.e.store.CreateAnnouncement(s.ctx, a, store.NewAnnouncement{Title: fmt.Sprintf("Thông báo %d", len(s.announced)+1),
		Body: "Chiến dịch VNeID", AckRequired: true, Audience: store.Audience{AreaIDs: []int64{area}}})
	if err != nil {
		s.t.Fatal(err)
	}
	if an, err = s.e.store.PublishAnnouncement(s.ctx, a, an.ID, time.Time{}); err != nil {
		s.t.Fatal(err)
	}
	s.announced = append(s.announced, an.ID)
	s.logf("announce %d to area %d: %d recipients", an.ID, area, an.Recipients)
}

func (s *sim) retract() {
	if len(s.announced) == 0 {
		return
	}
	a, err := s.e.store.Actor(s.ctx, s.e.users["coordP"].ID, "")
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.e.store.RetractAnnouncement(s.ctx, a, s.announced[0]); err != nil {
		s.t.Fatal(err)
	}
	s.retracted = s.announced[0]
	s.logf("retract announcement %d", s.announced[0])
}

// readAnnouncement marks a locally held announcement read (or acknowledged)
// through the outbox, as the app does when the user opens it.
func (s *sim) readAnnouncement(p *simPhone) {
	inbox, err := p.c.Inbox(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(inbox) == 0 {
		return
	}
	it := inbox[s.rng.IntN(len(inbox))]
	at := time.Now().Add(-p.skew)
	w := simWrite{table: "announcement_receipts", op: "patch", id: it.ID, ack: s.rng.IntN(2) == 0}
	fields := map[string]string{"read_at": at.UTC().Format(time.RFC3339Nano)}
	if w.ack {
		fields["acked_at"] = fields["read_at"]
	}
	s.write(p, w, phone.Mutation{Table: w.table, Op: "patch", ID: it.ID, Fields: mustJSON(fields)})
}
