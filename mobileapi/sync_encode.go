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
func AppendPull(b []byte, r *store.PullResponse) []byte {
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
	return append(b, "}}"...)
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
