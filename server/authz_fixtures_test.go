package server

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"toso/store"
)

// Fixtures some rows of the authorization matrix make per caller.

// draftBy has author write (and publish, if published) an announcement to
// commune A and returns its id.
func draftBy(e *testEnv, author, title string, published bool) int64 {
	e.t.Helper()
	r := e.do("POST", "/v1/announcements", e.token(author), map[string]any{"title": title, "body": "Nội dung",
		"audience": map[string]any{"area_ids": []int64{e.communeA.ID}}})
	if r.Status != 201 {
		e.t.Fatalf("create announcement %q: got %d: %s", title, r.Status, r.Body)
	}
	id := num(r.JSON(e.t), "id")
	if published {
		if r := e.do("POST", fmt.Sprintf("/v1/announcements/%d/publish", id), e.token(author), nil); r.Status != 200 {
			e.t.Fatalf("publish announcement %q: got %d: %s", title, r.Status, r.Body)
		}
	}
	return id
}

// spareDevice binds a device of user key's, named after as, and returns
// its id.
func spareDevice(e *testEnv, key, as string) string {
	e.t.Helper()
	h := fnv.New32a()
	h.Write([]byte(as))
	id := "00000000-0000-4000-a000-" + fmtID(int64(h.Sum32()))
	if _, err := e.store.OpenSession(context.Background(), e.users[key].ID,
		store.DeviceInfo{ID: id, Platform: "android"}, time.Hour); err != nil {
		e.t.Fatal(err)
	}
	return id
}
