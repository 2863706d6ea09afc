package webapp_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"

	"toso/webapp"
)

func newApp(t *testing.T) (*fiber.App, *webapp.App) {
	t.Helper()
	a, err := webapp.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	a.Register(app)
	return app, a
}

func get(t *testing.T, app *fiber.App, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestRoutes checks what the browser relies on: the page with its CSP
// (WebAssembly allowed, nothing inline), the right content types (a
// module worker and wasm are refused otherwise), revalidation by ETag,
// /app sent to /app/, and nothing outside the embedded folder.
func TestRoutes(t *testing.T) {
	app, a := newApp(t)
	for _, tc := range []struct {
		path, status, ctype, contains string
	}{
		{"/app/", "200", "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/app/app.js", "200", "text/javascript; charset=utf-8", "import { openDB }"},
		{"/app/db-worker.js", "200", "text/javascript; charset=utf-8", "opfs"},
		{"/app/sqlite/sqlite3.mjs", "200", "text/javascript; charset=utf-8", "installOpfsSAHPoolVfs"},
		{"/app/sqlite/sqlite3.wasm", "200", "application/wasm", "\x00asm"},
		{"/app/manifest.webmanifest", "200", "application/manifest+json", `"start_url": "/app/"`},
		{"/app/sw.js", "200", "text/javascript; charset=utf-8", a.Version()},
		{"/app/nope.js", "404", "", ""},
		{"/app/../go.mod", "404", "", ""},
		{"/app/%2e%2e/webapp.go", "404", "", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, app, tc.path)
			if got := res.Status[:3]; got != tc.status {
				t.Fatalf("status = %s, want %s", res.Status, tc.status)
			}
			if tc.status != "200" {
				return
			}
			if got := res.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
		})
	}
	res, _ := get(t, app, "/app/")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "'wasm-unsafe-eval'") || strings.Contains(csp, "'unsafe-inline'") {
		t.Errorf("CSP = %q, want wasm allowed and nothing inline", csp)
	}
	if res, _ := get(t, app, "/app/app.js", "If-None-Match", res.Header.Get("ETag")); res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %s, want 304", res.Status)
	}
	res, body := get(t, app, "/app/sqlite/sqlite3.wasm", "Accept-Encoding", "gzip, deflate, br")
	if res.Header.Get("Content-Encoding") != "gzip" || len(body) > 700<<10 {
		t.Errorf("wasm with Accept-Encoding gzip: %q, %d bytes; want gzip under 700 KB", res.Header.Get("Content-Encoding"), len(body))
	}
	if res, _ := get(t, app, "/app"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/app/" {
		t.Errorf("/app: %s to %q, want 301 to /app/", res.Status, res.Header.Get("Location"))
	}
}

// TestServiceWorkerPrecachesEveryFile: the generated service worker lists
// every file the app needs offline, and each answers 200, so install
// (cache.addAll, all or nothing) cannot fail on a missing one.
func TestServiceWorkerPrecachesEveryFile(t *testing.T) {
	app, _ := newApp(t)
	_, sw := get(t, app, "/app/sw.js")
	m := regexp.MustCompile(`const FILES = (\[.*\]);`).FindStringSubmatch(sw)
	if m == nil {
		t.Fatalf("no FILES in sw.js:\n%s", sw)
	}
	var files []string
	if err := json.Unmarshal([]byte(m[1]), &files); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"./": true}
	err := filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("static", p)
		if rel != "sw.js" && rel != "index.html" && rel != "sqlite/VERSION" {
			want["./"+filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[f] {
			t.Errorf("sw.js precaches %s, which is not a file of the app", f)
		}
		delete(want, f)
		if res, _ := get(t, app, "/app/"+strings.TrimPrefix(f, "./")); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", f, res.Status)
		}
	}
	for f := range want {
		t.Errorf("sw.js does not precache %s", f)
	}
}

// TestSQLiteVersionPinned: the committed sqlite-wasm copy is the version
// package.json pins (build.sh was run after the pin changed).
func TestSQLiteVersionPinned(t *testing.T) {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	v, err := os.ReadFile("static/sqlite/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	pin := pkg.Dependencies["@sqlite.org/sqlite-wasm"]
	if regexp.MustCompile(`^[\^~<>=]`).MatchString(pin) {
		t.Errorf("package.json pins %q: want an exact version", pin)
	}
	if string(v) != pin {
		t.Errorf("static/sqlite is %s, package.json pins %s: run webapp/build.sh", v, pin)
	}
}
