// Package dashboard is the coordinator's web dashboard: server-rendered
// html/template pages with embedded static files and SVG charts drawn on
// the server; the only JavaScript is the copy button of the daily summary
// (static/copy.js, a file: the CSP allows no inline script). Every figure comes from the same store methods
// as the JSON API, under the same policy (store.Actor).
package dashboard

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/requestid"

	"toso/store"
)

//go:embed templates/*.html static/*
var files embed.FS

// Throttle counts login attempts; the JSON API's (*mobileapi.API) is
// passed in, so a phone's failures count the same on both doors.
type Throttle interface {
	LoginWait(ctx context.Context, ip, phone, device string) (time.Duration, error)
	LoginSucceeded(ip, phone, device string)
}

// Config is what the dashboard needs from the server's configuration.
type Config struct {
	Secret     string        // the server secret (≥ 32 characters); cookie and CSRF keys derive from it
	SessionTTL time.Duration // default 12 hours
	Throttle   Throttle      // nil: no login throttle (tests)
	Now        func() time.Time
}

// Dashboard holds the pages' dependencies.
type Dashboard struct {
	store *store.Store
	cfg   Config
	log   *slog.Logger
	key   []byte
	pages map[string]*template.Template
	now   func() time.Time
}

// New parses the templates and derives the keys.
func New(s *store.Store, cfg Config, log *slog.Logger) (*Dashboard, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("dashboard: the secret must have at least 32 characters")
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := hmac.New(sha256.New, []byte(cfg.Secret))
	m.Write([]byte("toso dashboard cookies v1"))
	d := &Dashboard{store: s, cfg: cfg, log: log, key: m.Sum(nil), pages: map[string]*template.Template{}, now: cfg.Now}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", n, err)
		}
		d.pages[base] = t
	}
	return d, nil
}

// RouteName prefixes the names of the dashboard's routes, so the API's
// route tests can tell them from the JSON API's.
const RouteName = "dashboard "

// Register mounts the dashboard's pages: this function is its table of
// contents. GET pages read; every POST carries the CSRF token.
func (d *Dashboard) Register(r fiber.Router) {
	get := func(path string, h fiber.Handler) { r.Get(path, h).Name(RouteName + path) }
	post := func(path string, h fiber.Handler) { r.Post(path, h).Name(RouteName + path) }
	get("/static/:name", d.static)
	get("/favicon.ico", d.favicon)
	get("/login", d.loginPage)
	post("/login", d.login)
	post("/logout", d.page(d.logout))

	get("/", d.page(d.overview))
	get("/areas", d.page(d.areaPage))
	get("/teams/:id", d.page(d.teamPage))
	get("/teams/:id/logs", d.page(d.teamReview))
	post("/teams/:id/logs/:log/lock", d.page(d.lockTeamLog))
	post("/teams/:id/progress/:report/void", d.page(d.voidTeamProgress))
	get("/barriers", d.page(d.barriers))
	get("/trainings", d.page(d.trainings))
	get("/trainings/:id", d.page(d.training))
	get("/announcements", d.page(d.announcements))
	post("/announcements", d.page(d.composeAnnouncement))
	get("/announcements/:id", d.page(d.announcement))
	post("/announcements/:id/publish", d.page(d.publishAnnouncement))
	post("/announcements/:id/retract", d.page(d.retractAnnouncement))
	get("/targets", d.page(d.targets))
	post("/targets", d.page(d.createTarget))
	post("/targets/:id", d.page(d.updateTarget))
	post("/targets/:id/delete", d.page(d.deleteTarget))
	post("/targets/:id/allocate", d.page(d.allocateTarget))
	get("/leaderboard", d.page(d.leaderboard))
	get("/sync", d.page(d.syncPage))
	get("/conflicts", d.page(d.conflicts))
	post("/conflicts/:id/resolve", d.page(d.resolveConflict))
	get("/downloads", d.page(d.downloads))
	get("/downloads/report.:ext", d.page(d.download))
	get("/downloads/periodic.xlsx", d.page(d.periodic))
}

// static serves the embedded static files, cached for a day.
func (d *Dashboard) static(c fiber.Ctx) error {
	name := c.Params("name")
	b, err := files.ReadFile("static/" + path.Base(name))
	if err != nil {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(b)
}

// favicon serves /favicon.ico, where browsers look for it by default.
func (d *Dashboard) favicon(c fiber.Ctx) error {
	b, err := files.ReadFile("static/favicon.ico")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/x-icon")
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(b)
}

// req is one authenticated page request.
type req struct {
	c       fiber.Ctx
	actor   store.Actor
	session cookieSession
	lang    string
	csrf    string
}

// page wraps a handler: it authenticates (or sends to the login page),
// refuses members and team leads, checks the CSRF token of every POST,
// and renders errors as pages.
func (d *Dashboard) page(h func(r *req) error) fiber.Handler {
	return func(c fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set("X-Frame-Options", "DENY")
		lang := d.lang(c)
		s, a, ok, err := d.session(c)
		if err != nil {
			return d.fail(c, lang, err)
		}
		if !ok {
			if c.Method() != fiber.MethodGet {
				return d.errorPage(c, lang, fiber.StatusForbidden, "err.session")
			}
			return c.Redirect().Status(fiber.StatusSeeOther).To("/login")
		}
		r := &req{c: c, actor: a, session: s, lang: lang, csrf: d.csrfToken(s.SessionID)}
		if c.Method() == fiber.MethodPost && !validToken(c.FormValue(csrfField), r.csrf) {
			return d.errorPage(c, lang, fiber.StatusForbidden, "err.csrf")
		}
		if a.Role.InTeam() && c.Path() != "/logout" {
			return d.render(r, fiber.StatusForbidden, "refused", &view{Title: tr(lang, "refused.title")})
		}
		if err := h(r); err != nil {
			return d.fail(c, lang, err)
		}
		return nil
	}
}

// fail renders a store error as a page: outside your reach is 404 (as in
// the API), forbidden 403, bad input 422; anything else is logged and 500.
func (d *Dashboard) fail(c fiber.Ctx, lang string, err error) error {
	var fe *fiber.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		return d.errorPage(c, lang, fiber.StatusNotFound, "err.notfound")
	case errors.Is(err, store.ErrForbidden):
		return d.errorPage(c, lang, fiber.StatusForbidden, "err.forbidden")
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrConflict):
		return d.errorPage(c, lang, fiber.StatusUnprocessableEntity, "err.invalid")
	case errors.As(err, &fe) && fe.Code < 500:
		return d.errorPage(c, lang, fe.Code, "err.notfound")
	}
	d.log.Error("dashboard", "path", c.Path(), "request_id", requestid.FromContext(c), "err", err)
	return d.errorPage(c, lang, fiber.StatusInternalServerError, "err.internal")
}

func (d *Dashboard) errorPage(c fiber.Ctx, lang string, status int, key string) error {
	v := &view{Title: tr(lang, "err.title"), Message: tr(lang, key)}
	return d.renderPage(c, lang, "", status, "error", v)
}

// view is what every page template gets: the layout's fields and the
// page's own Data.
type view struct {
	Lang    string
	Title   string
	Nav     string // the active menu entry
	CSRF    string
	User    string
	Area    *store.Area  // the area the page is about, for the menu's links
	Query   template.URL // area and period as a query string, for links and form actions (url.Values.Encode: safe)
	From    string       // the period, for the period form
	To      string
	Crumbs  []crumb
	Message string // an error or notice shown above the page
	Notice  string
	Data    any
	Path    string // for the language switch
}

type crumb struct {
	Name, Href string
}

// render executes a page for an authenticated request.
func (d *Dashboard) render(r *req, status int, name string, v *view) error {
	v.CSRF = r.csrf
	if u, err := d.store.User(r.c.Context(), r.actor, r.actor.UserID); err == nil {
		v.User = u.Name
	}
	return d.renderPage(r.c, r.lang, r.csrf, status, name, v)
}

func (d *Dashboard) renderPage(c fiber.Ctx, lang, csrf string, status int, name string, v *view) error {
	t := d.pages[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	v.Lang, v.CSRF = lang, csrf
	v.Path = c.Path()
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'")
	return c.Status(status).Send(buf.Bytes())
}
