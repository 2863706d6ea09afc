// Package mobileapi is the JSON API under /v1 used by the phone app and by
// coordinators: bind → call the store → respond.
package mobileapi

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/compress"

	"toso/store"
)

// Config is what the API needs from the server's configuration.
type Config struct {
	JWTSecret       string
	AccessTokenTTL  time.Duration // default 15 minutes
	RefreshTokenTTL time.Duration // default 60 days
	Limits          Limits        // zero fields: DefaultLimits
	Now             func() time.Time
}

// API holds the handlers' dependencies.
type API struct {
	store  *store.Store
	tokens *Tokens
	cfg    Config
	log    *slog.Logger
	now    func() time.Time

	loginIP    *windowLimiter // attempts per client IP
	loginFails *backoff       // failures per (phone, address), (phone, bound device), phone; wrong old passwords per user
	requests   *rateLimiter   // authenticated requests per user and device
	sync       *syncMetrics
}

// New builds the API.
func New(s *store.Store, cfg Config, log *slog.Logger) (*API, error) {
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = 15 * time.Minute
	}
	if cfg.RefreshTokenTTL == 0 {
		cfg.RefreshTokenTTL = 60 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tokens, err := NewTokens(cfg.JWTSecret, cfg.AccessTokenTTL, cfg.Now)
	if err != nil {
		return nil, err
	}
	l := cfg.Limits.withDefaults()
	cfg.Limits = l
	return &API{
		store: s, tokens: tokens, cfg: cfg, log: log, now: cfg.Now,
		loginIP:    newWindowLimiter(l.LoginPerIP, l.LoginIPWindow, l.MaxKeys, cfg.Now),
		loginFails: newBackoff(l.LoginPerPhone, l.LoginPhoneCeiling, time.Second, l.LoginPhoneWindow, l.MaxKeys, cfg.Now),
		requests:   newRateLimiter(l.RequestsPerSecond, l.RequestBurst, l.MaxKeys, cfg.Now),
		sync:       newSyncMetrics(),
	}, nil
}

// Register mounts every route of the API: this function is its table of
// contents.
func (a *API) Register(r fiber.Router) {
	r.Get("/openapi.json", a.openapi)
	v1 := r.Group("/v1")

	auth := a.authenticate
	v1.Post("/auth/login", a.login)
	v1.Post("/auth/refresh", a.refresh)
	v1.Post("/auth/logout", auth, a.logout)
	v1.Post("/auth/password", auth, a.changePassword)
	v1.Get("/devices", auth, a.listDevices)
	v1.Put("/devices/:id/push-token", auth, a.setPushToken)
	v1.Delete("/devices/:id", auth, a.unbindDevice)

	v1.Get("/me", auth, a.me)

	v1.Get("/areas", auth, a.listAreas)
	v1.Post("/areas", auth, a.createArea)
	v1.Get("/areas/:id", auth, a.getArea)
	v1.Patch("/areas/:id", auth, a.updateArea)
	v1.Get("/areas/:id/lineage", auth, a.getAreaLineage)
	v1.Post("/areas/lineage", auth, a.addAreaLineage)
	v1.Post("/areas/import", auth, a.importAreas)

	v1.Get("/teams", auth, a.listTeams)
	v1.Post("/teams", auth, a.createTeam)
	v1.Get("/teams/:id", auth, a.getTeam)
	v1.Patch("/teams/:id", auth, a.updateTeam)

	v1.Get("/users", auth, a.listUsers)
	v1.Post("/users", auth, a.createUser)
	v1.Get("/users/:id", auth, a.getUser)
	v1.Patch("/users/:id", auth, a.updateUser)
	v1.Post("/users/import", auth, a.importUsers)
	v1.Post("/completions/import", auth, a.importCompletions)

	// Reports, targets and review (issue 4): all read rollups, all through
	// the policy on store.Actor.
	v1.Get("/reports/summary", auth, a.reportSummary)
	v1.Get("/reports/export.xlsx", auth, a.exportXLSX)
	v1.Get("/reports/export.csv", auth, a.exportCSV)
	v1.Get("/reports/periodic.xlsx", auth, a.periodicXLSX)
	v1.Get("/reports/daily-summary", auth, a.dailySummary)
	v1.Get("/targets", auth, a.listTargets)
	v1.Post("/targets", auth, a.createTarget)
	v1.Get("/targets/:id", auth, a.getTarget)
	v1.Patch("/targets/:id", auth, a.updateTarget)
	v1.Delete("/targets/:id", auth, a.deleteTarget)
	v1.Post("/targets/:id/allocate", auth, a.allocateTarget)
	v1.Post("/review/logs/:id/lock", auth, a.lockLog)
	v1.Post("/review/sessions/:id/lock", auth, a.lockSession)
	v1.Post("/review/progress/:id/void", auth, a.voidProgress)
	v1.Get("/review/conflicts", auth, a.listConflicts)
	v1.Post("/review/conflicts/:id/resolve", auth, a.resolveConflict)

	// The coordinator's sync health (issue 14): every phone of every team.
	v1.Get("/sync-health", auth, a.syncHealth)

	// Sync (SYNC.md): gzip both ways; the request body is decompressed by
	// Fiber (within BodyLimit) when Content-Encoding says gzip. Level 1:
	// the default level 6 was 7% of the server's CPU in the morning storm,
	// for pull pages of repetitive JSON that level 1 already shrinks most.
	gz := compress.New(compress.Config{Level: compress.LevelBestSpeed})
	v1.Post("/sync/push", auth, gz, a.syncPush)
	v1.Post("/sync/pull", auth, gz, a.syncPull)

	v1.Get("/announcements", auth, a.listAnnouncements)
	v1.Post("/announcements", auth, a.createAnnouncement)
	v1.Post("/announcements/preview", auth, a.previewAudience)
	v1.Get("/announcements/:id", auth, a.getAnnouncement)
	v1.Post("/announcements/:id/publish", auth, a.publishAnnouncement)
	v1.Post("/announcements/:id/retract", auth, a.retractAnnouncement)
	v1.Get("/announcements/:id/receipts", auth, a.announcementReceipts)
	v1.Get("/announcements/:id/receipts/areas", auth, a.receiptAreas)
	v1.Get("/announcements/:id/unacknowledged", auth, a.unacknowledged)
	v1.Post("/announcements/:id/read", auth, a.markRead)
	v1.Post("/announcements/:id/ack", auth, a.markAcked)
	v1.Get("/inbox", auth, a.inbox)
}

const actorKey = "toso.actor"

// authenticate checks the bearer token, throttles the caller's device and
// loads the caller's current role and scope from the database into the
// request, in the same query checking that the token's session is live.
func (a *API) authenticate(c fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return problem(fiber.StatusUnauthorized, "unauthenticated")
	}
	claims, err := a.tokens.Verify(token)
	if err != nil {
		return problem(fiber.StatusUnauthorized, "unauthenticated")
	}
	if wait := a.requests.take(strconv.FormatInt(claims.UserID, 10) + "/" + claims.DeviceID); wait > 0 {
		return rateLimited(wait)
	}
	actor, err := a.store.SessionActor(c.Context(), claims.UserID, claims.DeviceID, claims.SessionID)
	if errors.Is(err, store.ErrForbidden) {
		return problem(fiber.StatusUnauthorized, "unauthenticated")
	} else if err != nil {
		return err
	}
	c.Locals(actorKey, actor)
	return c.Next()
}

// actor is the authenticated caller of this request.
func actor(c fiber.Ctx) store.Actor {
	a, _ := c.Locals(actorKey).(store.Actor)
	return a
}
