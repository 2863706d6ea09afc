package mobileapi

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// Sync endpoints (SYNC.md is the contract). What a phone must do beyond
// the contract's text, as this server implements it:
//
//   - Push: mids are consecutive within a request; a tx group is a run of
//     adjacent mutations. A 409 mid_gap says which mid to send next
//     ("expected"). A 200 with retry_after means the server stopped early:
//     results cover mids up to last_mid, send the rest again later. A 503
//     "unavailable" carries last_mid and retry_after too.
//   - Creates should carry "team_id" (the team the record was made in): a
//     member moved since then gets rejected/forbidden instead of the record
//     silently landing in the new team. Other server-owned fields
//     (version, area_id, created_by, locked, citizen_ref…) are ignored.
//   - Session attendees: the server derives the row id from (session,
//     person); when it differs from the phone's, the result's "id" names
//     it. The phone renames its row; the old id keeps working as an alias.
//   - training_sessions patches: base_version is the row version the edit
//     started from; a field changed on the server since then is a race
//     (result "merged", the overwritten value in sync_conflicts). A
//     backward status never applies and is recorded the same way.
//   - Pull: cursors are opaque strings ("9050" or "9050.<tag>"): store and
//     send back what the server gave. On scopes_removed, delete the scope's
//     rows (keep outbox entries: they come back as results). A scope in
//     resets is served from the start in that same response: drop its rows
//     before applying the changes (or push the outbox first and pull it
//     again from ""); outbox entries are never dropped.
//   - digest.hash is the sum mod 2^64 of FNV-1a-64 over
//     "table:id:version" of the scope's rows, as 16 hex digits; the id of
//     services, barriers and indicators is their code, of areas the number.

// syncPushRequest is the body of POST /v1/sync/push (SYNC.md). Mutations
// are validated one by one in the store, so one bad record never blocks
// the rest; only the envelope is validated here.
type syncPushRequest struct {
	Protocol      int            `json:"protocol" validate:"eq=1"`
	DeviceID      string         `json:"device_id" validate:"required,uuid"`
	SchemaVersion int            `json:"schema_version" validate:"required,gte=1"`
	AppVersion    string         `json:"app_version" validate:"max=40"`
	Mutations     []syncMutation `json:"mutations" validate:"max=200"`
	// PendingMutations is how many mutations wait in the phone's outbox
	// (this batch included), for the coordinators' sync health; optional.
	PendingMutations *int `json:"pending_mutations" validate:"omitempty,gte=0,lte=1000000"`
}

// syncMutation is one field patch: create, patch or delete of one row.
// base_version is the row version the phone's edit started from.
type syncMutation struct {
	Mid         int64                      `json:"mid"`
	Tx          string                     `json:"tx,omitempty"`
	Table       string                     `json:"table"`
	Op          string                     `json:"op"`
	ID          string                     `json:"id"`
	BaseVersion int64                      `json:"base_version,omitempty"`
	Fields      map[string]json.RawMessage `json:"fields,omitempty"`
}

// syncPushResponse: last_mid is the last processed mid of the device;
// retry_after (seconds) is set when the server stopped early and the
// mutations after last_mid must be sent again.
type syncPushResponse struct {
	LastMid    int64        `json:"last_mid"`
	ServerTime string       `json:"server_time"`
	Results    []syncResult `json:"results"`
	RetryAfter int          `json:"retry_after,omitempty"`
}

// syncResult is the outcome of one mutation: status applied, merged (see
// conflict_id), rejected (code, retryable, fields naming bad fields) or
// duplicate (processed long ago, its stored result pruned). id is set when
// the server stored the row under another id (session attendees).
type syncResult struct {
	Mid        int64             `json:"mid"`
	Status     string            `json:"status"`
	Version    int64             `json:"version,omitempty"`
	ID         string            `json:"id,omitempty"`
	ConflictID string            `json:"conflict_id,omitempty"`
	Code       string            `json:"code,omitempty"`
	Retryable  *bool             `json:"retryable,omitempty"`
	Message    string            `json:"message,omitempty"` // rejected: the code as a sentence, in the caller's language
	Fields     map[string]string `json:"fields,omitempty"`  // the reason of each bad field, a sentence in the caller's language
	Reasons    map[string]string `json:"reasons,omitempty"` // the stable code of each field's reason
}

// syncPullRequest is the body of POST /v1/sync/pull: one cursor per scope
// the phone holds ("" or absent = from the start), limit ≤ 500 rows.
type syncPullRequest struct {
	Protocol      int               `json:"protocol" validate:"eq=1"`
	DeviceID      string            `json:"device_id" validate:"required,uuid"`
	SchemaVersion int               `json:"schema_version" validate:"required,gte=1"`
	Cursors       map[string]string `json:"cursors" validate:"max=20,dive,keys,max=64,endkeys,max=64"`
	Limit         int               `json:"limit" validate:"gte=0,lte=500"`
	// PendingMutations: as in a push, what waits in the outbox now.
	PendingMutations *int `json:"pending_mutations" validate:"omitempty,gte=0,lte=1000000"`
}

// pending is a reported outbox size, or -1 when the phone did not say.
func pending(n *int) int {
	if n == nil {
		return -1
	}
	return *n
}

const (
	pushSoftDeadline = 20 * time.Second // stop taking new mutations, commit what is done
	syncHardDeadline = 25 * time.Second // waiting for the write lock past this is a temporary fault
	retryAfterSecs   = 2
)

// checkSync enforces what both endpoints share: the protocol and schema
// version, and the device of the token.
func checkSync(c fiber.Ctx, schema int, deviceID string) error {
	if schema != store.SyncSchemaVersion {
		return &Problem{Status: fiber.StatusConflict, Code: "unsupported_schema",
			Extra: map[string]any{"supported": []int{store.SyncSchemaVersion}}}
	}
	if deviceID != actor(c).DeviceID {
		return &Problem{Status: fiber.StatusForbidden, Code: "forbidden", Fields: map[string]string{"device_id": "not the device of this token"}}
	}
	return nil
}

// syncPush handles POST /v1/sync/push.
func (a *API) syncPush(c fiber.Ctx) error {
	if len(c.Body()) > store.MaxPushBytes {
		return problem(fiber.StatusRequestEntityTooLarge, "too_large")
	}
	var req syncPushRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	if err := checkSync(c, req.SchemaVersion, req.DeviceID); err != nil {
		return err
	}
	muts := make([]store.Mutation, len(req.Mutations))
	for i, m := range req.Mutations {
		muts[i] = store.Mutation{Mid: m.Mid, Tx: m.Tx, Table: m.Table, Op: m.Op, ID: m.ID, BaseVersion: m.BaseVersion, Fields: m.Fields}
	}
	ctx, cancel := context.WithTimeout(c.Context(), syncHardDeadline)
	defer cancel()
	act := actor(c)
	res, err := a.store.Push(ctx, act, store.PushRequest{
		DeviceID: req.DeviceID, AppVersion: req.AppVersion, Mutations: muts, SoftDeadline: a.now().Add(pushSoftDeadline),
	})
	var gap *store.MidGapError
	switch {
	case errors.As(err, &gap):
		return &Problem{Status: fiber.StatusConflict, Code: "mid_gap", Extra: map[string]any{"expected": gap.Expected}}
	case errors.Is(err, store.ErrUnavailable):
		p := &Problem{Status: fiber.StatusServiceUnavailable, Code: "unavailable", RetryAfter: retryAfterSecs,
			Extra: map[string]any{"retry_after": retryAfterSecs}}
		if last, err := a.store.DeviceLastMid(context.WithoutCancel(c.Context()), act, req.DeviceID); err == nil {
			p.Extra["last_mid"] = last
		}
		return p
	case errors.Is(err, store.ErrInvalid):
		return &Problem{Status: fiber.StatusUnprocessableEntity, Code: "validation_failed",
			Fields: map[string]string{"mutations": "mids must be consecutive and a tx group's mutations adjacent"}}
	case err != nil:
		return err
	}
	a.sync.pushed(muts, res.Results, a.store.IsSyncTable)
	a.store.RecordDeviceActivity(req.DeviceID, store.ActivityPush, pending(req.PendingMutations), req.AppVersion)
	out := syncPushResponse{LastMid: res.LastMid, ServerTime: rfc3339(res.ServerTime), RetryAfter: res.RetryAfter,
		Results: make([]syncResult, len(res.Results))}
	no := false
	lang := Lang(c)
	for i, r := range res.Results {
		out.Results[i] = syncResult{Mid: r.Mid, Status: r.Status, Version: r.Version, ID: r.ID,
			ConflictID: r.ConflictID, Code: r.Code}
		out.Results[i].Fields, out.Results[i].Reasons = LocalizeFields(r.Fields, lang)
		if r.Status == store.StatusRejected {
			out.Results[i].Retryable = &no
			out.Results[i].Message = Text(r.Code, lang)
		}
	}
	if res.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(res.RetryAfter))
	}
	return c.JSON(out)
}

// syncPull handles POST /v1/sync/pull. The response is written by hand
// (appendPull): rows arrive from SQLite as JSON text and are copied, not
// decoded and encoded again.
func (a *API) syncPull(c fiber.Ctx) error {
	var req syncPullRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	if err := checkSync(c, req.SchemaVersion, req.DeviceID); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context(), syncHardDeadline)
	defer cancel()
	res, err := a.store.Pull(ctx, actor(c), store.PullRequest{DeviceID: req.DeviceID, Cursors: req.Cursors, Limit: req.Limit})
	if errors.Is(err, store.ErrInvalid) {
		return fieldProblem("cursors", "each cursor must be a non-negative integer")
	} else if err != nil {
		return err
	}
	a.sync.pulledFrom(res)
	a.store.RecordDeviceActivity(req.DeviceID, store.ActivityPull, pending(req.PendingMutations), "")
	var ranks []store.CampaignRank
	if act := actor(c); act.Role == store.RoleTeamLead {
		// One primary-key range of a table a periodic job keeps: a pull
		// never ranks anything itself.
		if ranks, err = a.store.TeamCampaignRanks(ctx, act.TeamID); err != nil {
			return err
		}
	}
	b := appendPull(make([]byte, 0, 64<<10), res, ranks)
	if day, text, ok := a.pullSummary(ctx, actor(c), res, Lang(c)); ok {
		b = AppendDailySummary(b, day, text)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}
