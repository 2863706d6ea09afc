package mobileapi

import (
	"encoding/json"
	"strconv"

	"toso/store"
)

// AppendPull appends the JSON of a pull response to b:
//
//	{"last_mid", "server_time", "scopes_added", "scopes_removed", "resets",
//	 "scopes": {name: {"changes": [{"table", "id", "op", "version", "row"}],
//	                   "cursor", "has_more", "digest": {"count", "hash"}}}}
//
// "row" is the row's current state (absent for op "del"); "digest" comes
// with the last page of a scope.
func AppendPull(b []byte, r *store.PullResponse) []byte { return appendPull(b, r, nil) }

// appendPull is AppendPull with, for a team lead, "campaign_ranks": the
// team's standing in each running campaign (absent when ranks is nil).
func appendPull(b []byte, r *store.PullResponse, ranks []store.CampaignRank) []byte {
	b = append(b, `{"last_mid":`...)
	b = strconv.AppendInt(b, r.LastMid, 10)
	b = append(b, `,"server_time":`...)
	b = appendString(b, rfc3339(r.ServerTime))
	b = append(b, `,"scopes_added":`...)
	b = appendStrings(b, r.ScopesAdded)
	b = append(b, `,"scopes_removed":`...)
	b = appendStrings(b, r.ScopesRemoved)
	b = append(b, `,"resets":`...)
	b = appendStrings(b, r.Resets)
	b = append(b, `,"scopes":{`...)
	first := true
	for name, sc := range r.Scopes {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, name)
		b = append(b, `:{"changes":[`...)
		for i, ch := range sc.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"table":`...)
			b = appendString(b, ch.Table)
			b = append(b, `,"id":`...)
			b = appendString(b, ch.ID)
			b = append(b, `,"op":`...)
			b = appendString(b, ch.Op)
			b = append(b, `,"version":`...)
			b = strconv.AppendInt(b, ch.Version, 10)
			if ch.Row != nil {
				b = append(b, `,"row":`...)
				b = append(b, ch.Row...)
			}
			b = append(b, '}')
		}
		b = append(b, `],"cursor":`...)
		b = appendString(b, sc.Cursor)
		b = append(b, `,"has_more":`...)
		b = strconv.AppendBool(b, sc.HasMore)
		if sc.Digest != nil {
			b = append(b, `,"digest":{"count":`...)
			b = strconv.AppendInt(b, sc.Digest.Count, 10)
			b = append(b, `,"hash":`...)
			b = appendString(b, sc.Digest.Hash)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	if ranks != nil {
		b = append(b, `,"campaign_ranks":`...)
		out := make([]campaignRankResponse, len(ranks))
		for i, cr := range ranks {
			out[i] = newCampaignRankResponse(cr)
		}
		j, _ := json.Marshal(out) // plain values: cannot fail
		b = append(b, j...)
	}
	return append(b, '}')
}

// campaignRankResponse is a team's standing in a running campaign, as a
// team lead's phone gets it with each pull (refreshed every few minutes).
type campaignRankResponse struct {
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

func newCampaignRankResponse(r store.CampaignRank) campaignRankResponse {
	return campaignRankResponse{TargetID: r.TargetID, Name: r.Name, Indicator: r.Indicator, StartsOn: r.StartsOn,
		EndsOn: r.EndsOn, Citizens: r.Citizens, Logs: r.Logs, CommuneRank: r.CommuneRank, CommuneTeams: r.CommuneTeams,
		ProvinceRank: r.ProvinceRank, ProvinceTeams: r.ProvinceTeams, AsOf: rfc3339(r.AsOf)}
}

// AppendDailySummary adds the optional "daily_summary": {"day", "text"}
// member to a pull response AppendPull wrote (b ends with its closing
// brace): a team lead's summary of the team's day, ready to paste.
func AppendDailySummary(b []byte, day, text string) []byte {
	b = append(b[:len(b)-1], `,"daily_summary":{"day":`...)
	b = appendString(b, day)
	b = append(b, `,"text":`...)
	b = appendString(b, text)
	return append(b, "}}"...)
}

// appendString appends s as a JSON string; the common case (ids, codes,
// scope names) needs no escaping and is copied.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}
