package phone

import "encoding/json"

// The wire types of SYNC.md, as the app sends and receives them.

// Mutation is one entry of the outbox as it travels in a push.
type Mutation struct {
	Mid         int64           `json:"mid"`
	Tx          string          `json:"tx,omitempty"`
	Table       string          `json:"table"`
	Op          string          `json:"op"` // create, patch, delete
	ID          string          `json:"id"`
	BaseVersion int64           `json:"base_version,omitempty"`
	Fields      json.RawMessage `json:"fields,omitempty"`
}

type pushRequest struct {
	Protocol      int        `json:"protocol"`
	DeviceID      string     `json:"device_id"`
	SchemaVersion int        `json:"schema_version"`
	AppVersion    string     `json:"app_version"`
	Mutations     []Mutation `json:"mutations"`
	// PendingMutations is how many entries wait in the outbox (this batch
	// included), for the coordinators' sync health.
	PendingMutations *int `json:"pending_mutations,omitempty"`
}

// Result is the server's verdict on one mutation.
type Result struct {
	Mid        int64  `json:"mid"`
	Status     string `json:"status"` // applied, merged, rejected, duplicate
	Version    int64  `json:"version,omitempty"`
	ConflictID string `json:"conflict_id,omitempty"`
	Code       string `json:"code,omitempty"`
	Retryable  bool   `json:"retryable,omitempty"`
	// ID, when set, is the id the server gave the row instead of the
	// phone's (session attendees: derived from session and person). The
	// phone's id keeps working as an alias.
	ID string `json:"id,omitempty"`
}

type pushResponse struct {
	LastMid    int64    `json:"last_mid"`
	ServerTime string   `json:"server_time"`
	Results    []Result `json:"results"`
	RetryAfter int      `json:"retry_after,omitempty"`
}

type pullRequest struct {
	Protocol      int               `json:"protocol"`
	DeviceID      string            `json:"device_id"`
	SchemaVersion int               `json:"schema_version"`
	Cursors       map[string]string `json:"cursors"`
	Limit         int               `json:"limit,omitempty"`
	// PendingMutations: as in a push, what waits in the outbox now.
	PendingMutations *int `json:"pending_mutations,omitempty"`
}

// Change is one row of a pulled scope: its current state ("put") or its
// removal from the scope ("del").
type Change struct {
	Table   string          `json:"table"`
	ID      string          `json:"id"`
	Op      string          `json:"op"`
	Version int64           `json:"version"`
	Row     json.RawMessage `json:"row,omitempty"`
}

// Digest summarizes a scope: row count and an order-independent hash of
// (table, id, version).
type Digest struct {
	Count int64  `json:"count"`
	Hash  string `json:"hash"`
}

type scopePage struct {
	Changes []Change `json:"changes"`
	Cursor  string   `json:"cursor"`
	HasMore bool     `json:"has_more"`
	Digest  *Digest  `json:"digest,omitempty"`
}

type pullResponse struct {
	LastMid       int64                `json:"last_mid"`
	ServerTime    string               `json:"server_time"`
	ScopesAdded   []string             `json:"scopes_added"`
	ScopesRemoved []string             `json:"scopes_removed"`
	Resets        []string             `json:"resets"`
	Scopes        map[string]scopePage `json:"scopes"`
	// CampaignRanks comes to team leads only: the team's standing in
	// each running campaign, as of the server's last refresh.
	CampaignRanks []CampaignRank `json:"campaign_ranks,omitempty"`
}

// CampaignRank is the team's standing in one running campaign, within its
// commune and its province (ranked by citizens reached, then logs; equal
// teams share a rank).
type CampaignRank struct {
	TargetID      int64   `json:"target_id"`
	Name          string  `json:"name"`
	Indicator     string  `json:"indicator"`
	StartsOn      string  `json:"starts_on"`
	EndsOn        string  `json:"ends_on"`
	Citizens      float64 `json:"citizens"`
	Logs          float64 `json:"logs"`
	CommuneRank   int     `json:"commune_rank"`
	CommuneTeams  int     `json:"commune_teams"`
	ProvinceRank  int     `json:"province_rank"`
	ProvinceTeams int     `json:"province_teams"`
	AsOf          string  `json:"as_of"`
}

type loginRequest struct {
	Phone      string `json:"phone"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id"`
	Platform   string `json:"platform"`
	AppVersion string `json:"app_version"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	User         struct {
		ID int64 `json:"id"`
	} `json:"user"`
}

// APIError is an error envelope from the server.
type APIError struct {
	Status     int
	Code       string `json:"code"`
	Message    string `json:"message"`
	Expected   int64  `json:"expected,omitempty"`
	RetryAfter int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }
