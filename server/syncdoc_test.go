package server

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestSyncDocumentCoversEveryTable keeps docs/sync.md and the OpenAPI
// document in step with the store's sync registry: every table phones
// sync has its section in the protocol document, its row schema in the
// Change oneOf, and (when phones may write it) its mutation schema in
// TypedMutation, and nothing else is listed.
func TestSyncDocumentCoversEveryTable(t *testing.T) {
	e := newTestEnv(t)
	want := e.store.SyncTableNames()
	if len(want) < 10 {
		t.Fatalf("the registry lists %d tables: %q", len(want), want)
	}
	doc, err := os.ReadFile("../docs/sync.md")
	if err != nil {
		t.Fatal(err)
	}
	var inDoc []string
	for _, m := range regexp.MustCompile("(?m)^### `([a-z_]+)`$").FindAllSubmatch(doc, -1) {
		inDoc = append(inDoc, string(m[1]))
	}
	slices.Sort(inDoc)
	if !slices.Equal(inDoc, want) {
		t.Errorf("docs/sync.md describes tables %q, the store syncs %q", inDoc, want)
	}

	schemas := e.api.doc.Components.Schemas
	var enum []string
	for _, v := range schemas["SyncTable"].Value.Enum {
		enum = append(enum, v.(string))
	}
	slices.Sort(enum)
	if !slices.Equal(enum, want) {
		t.Errorf("openapi.json SyncTable = %q, the store syncs %q", enum, want)
	}
	var puts, writable []string
	for _, alt := range schemas["Change"].Value.OneOf {
		if op := alt.Value.Properties["op"].Value.Enum; len(op) == 1 && op[0] == "put" {
			puts = append(puts, alt.Value.Properties["table"].Value.Enum[0].(string))
		}
	}
	for _, alt := range schemas["TypedMutation"].Value.OneOf {
		writable = append(writable, alt.Value.Properties["table"].Value.Enum[0].(string))
	}
	slices.Sort(puts)
	slices.Sort(writable)
	if !slices.Equal(puts, want) {
		t.Errorf("openapi.json Change types the rows of %q, the store syncs %q", puts, want)
	}
	var wantWritable []string
	for _, name := range want {
		if e.store.SyncTableWritable(name) {
			wantWritable = append(wantWritable, name)
		}
	}
	if !slices.Equal(writable, wantWritable) {
		t.Errorf("openapi.json TypedMutation types %q, phones may write %q", writable, wantWritable)
	}
}
