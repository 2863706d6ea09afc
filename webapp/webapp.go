// Package webapp serves the member web app at /app/: an installable,
// offline-first page on the same sync protocol as the phone app, so a
// province can start before any store app exists.
//
// Everything is static and embedded: index.html, plain JS modules, the
// manifest, and the official SQLite WebAssembly build (static/sqlite/,
// copied from npm by build.sh and committed). The app keeps its data in a
// SQLite database in the browser's origin private file system (the
// opfs-sahpool VFS, which needs no cross-origin isolation headers) inside
// a Worker, and talks to the server only through /v1 (login, sync).
//
// The service worker is the one generated file: its cache name is a hash
// of the embedded files and its precache list is every file, so a changed
// file replaces the whole offline copy at the next visit and no build
// step can forget to bump a version.
package webapp

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v3"
)

//go:embed static
var files embed.FS

// Prefix is where the app is served.
const Prefix = "/app/"

// RouteName prefixes the names of the app's routes, so the API's route
// tests can tell them from the JSON API's.
const RouteName = "webapp "

// csp allows the app's own scripts and WebAssembly compilation
// ('wasm-unsafe-eval', which SQLite needs) and nothing inline or foreign.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; style-src 'self'; manifest-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"

// App is the embedded web app, ready to serve.
type App struct {
	static  fs.FS
	version string // hash of every embedded file: the service worker's cache name and every ETag
	sw      []byte // the service worker with its version and precache list filled in
	// gzipped copies, made at the first request for each file: the SQLite
	// build is 1.5 MB, 0.58 MB gzipped, on a field worker's mobile data.
	gz map[string]func() []byte
}

// New reads the embedded files once and builds the service worker.
func New(log *slog.Logger) (*App, error) {
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	a := &App{static: static, gz: map[string]func() []byte{}}
	var names []string
	h := sha256.New()
	err = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		if p != "sw.js" && p != "sqlite/VERSION" {
			names = append(names, p)
		}
		if path.Ext(p) != ".png" {
			a.gz[p] = sync.OnceValue(func() []byte { return gzipped(b) })
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	sort.Strings(names)
	a.version = hex.EncodeToString(h.Sum(nil))[:16]
	sw, err := fs.ReadFile(static, "sw.js")
	if err != nil {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	precache := []string{"./"} // index.html is served at /app/
	for _, n := range names {
		if n != "index.html" {
			precache = append(precache, "./"+n)
		}
	}
	list, err := json.Marshal(precache)
	if err != nil {
		return nil, err
	}
	sw = bytes.Replace(sw, []byte(`"__VERSION__"`), []byte(`"`+a.version+`"`), 1)
	sw = bytes.Replace(sw, []byte(`["__FILES__"]`), list, 1)
	a.sw = sw
	log.Debug("member web app", "path", Prefix, "version", a.version, "files", len(precache))
	return a, nil
}

// Version is the hash of the embedded files.
func (a *App) Version() string { return a.version }

// Register mounts the app: /app redirects to /app/, which is index.html;
// /app/sw.js is the generated service worker; the rest are the files.
func (a *App) Register(r fiber.Router) {
	get := func(path string, h fiber.Handler) { r.Get(path, h).Name(RouteName + path) }
	get(Prefix, func(c fiber.Ctx) error {
		// Routing is not strict, so /app lands here too: send it to /app/,
		// where the page's relative URLs resolve inside the app.
		if !strings.HasSuffix(c.Path(), "/") {
			return c.Redirect().Status(fiber.StatusMovedPermanently).To(Prefix)
		}
		return a.serve(c, "index.html")
	})
	get(Prefix+"sw.js", a.serviceWorker)
	get(Prefix+"*", func(c fiber.Ctx) error { return a.serve(c, c.Params("*")) })
}

// serve sends one embedded file. Every answer is revalidated (no-cache)
// against an ETag that changes with any file, so an online visit always
// sees the current app and an unchanged one costs a 304; offline, the
// service worker's cache answers instead.
func (a *App) serve(c fiber.Ctx, name string) error {
	name = path.Clean("/" + name)[1:]
	if name == "" || name == "sw.js" || strings.HasPrefix(name, ".") {
		return fiber.ErrNotFound
	}
	b, err := fs.ReadFile(a.static, name)
	if err != nil {
		return fiber.ErrNotFound
	}
	etag := `"` + a.version + `"`
	gz, zip := a.gz[name]
	zip = zip && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip")
	if zip {
		etag = `"` + a.version + `-gz"` // another representation, another tag
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		c.Set("Content-Security-Policy", csp)
		c.Set("Referrer-Policy", "no-referrer")
	}
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, contentType(name))
	if zip {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(gz())
	}
	return c.Send(b)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// serviceWorker sends sw.js. Browsers fetch it past their HTTP cache to
// look for updates; no-cache keeps any proxy from holding an old one.
func (a *App) serviceWorker(c fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Content-Type-Options", "nosniff")
	return c.Send(a.sw)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".mjs", ".js":
		return "text/javascript; charset=utf-8"
	case ".wasm":
		return "application/wasm"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
