// Package mobileapi is the JSON API under /v1 used by the phone app and by
// coordinators: bind → call the store → respond.
package mobileapi

import (
	"errors"
	"log/slog"
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
	Now             func() time.Time
}

// API holds the handlers' dependencies.
type API struct {
	store  *store.Store
	tokens *Tokens
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
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
	return &API{store: s, tokens: tokens, cfg: cfg, log: log, now: cfg.Now}, nil
}

// Register mounts every route of the API: this function is its table of
// contents.
func (a *API) Register(r fiber.Router) {
	v1 := r.Group("/v1")

	auth := a.authenticate
	v1.Get("/me", auth, a.me)

	v1.Get("/areas", auth, a.listAreas)
	v1.Post("/areas", auth, a.createArea)
	v1.Get("/areas/:id", auth, a.getArea)
	v1.Patch("/areas/:id", auth, a.updateArea)
	v1.Get("/areas/:id/lineage", auth, a.getAreaLineage)
	v1.Post("/areas/lineage", auth, a.addAreaLineage)

	v1.Get("/teams", auth, a.listTeams)
	v1.Post("/teams", auth, a.createTeam)
	v1.Get("/teams/:id", auth, a.getTeam)
	v1.Patch("/teams/:id", auth, a.updateTeam)

	v1.Get("/users", auth, a.listUsers)
	v1.Post("/users", auth, a.createUser)
	v1.Get("/users/:id", auth, a.getUser)
	v1.Patch("/users/:id", auth, a.updateUser)

	// Reports, targets and review (issue 4): all read rollups, all through
	// the policy on store.Actor.
	v1.Get("/reports/summary", auth, a.reportSummary)
	v1.Get("/reports/export.xlsx", auth, a.exportXLSX)
	v1.Get("/reports/export.csv", auth, a.exportCSV)
	v1.Get("/targets", auth, a.listTargets)
	v1.Post("/targets", auth, a.createTarget)
	v1.Get("/targets/:id", auth, a.getTarget)
	v1.Patch("/targets/:id", auth, a.updateTarget)
	v1.Delete("/targets/:id", auth, a.deleteTarget)
	v1.Post("/targets/:id/allocate", auth, a.allocateTarget)
	v1.Post("/review/logs/:id/lock", auth, a.lockLog)
	v1.Post("/review/sessions/:id/lock", auth, a.lockSession)
	v1.Post("/review/progress/:id/void", auth, a.voidProgress)
	v1.Post("/review/conflicts/:id/resolve", auth, a.resolveConflict)

	// Sync (SYNC.md): gzip both ways; the request body is decompressed by
	// Fiber (within BodyLimit) when Content-Encoding says gzip.
	gz := compress.New()
	v1.Post("/sync/push", auth, gz, a.syncPush)
	v1.Post("/sync/pull", auth, gz, a.syncPull)
}

const actorKey = "toso.actor"

// authenticate checks the bearer token and loads the caller's current role
// and scope from the database into the request.
func (a *API) authenticate(c fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return problem(fiber.StatusUnauthorized, "unauthenticated")
	}
	userID, deviceID, err := a.tokens.Verify(token)
	if err != nil {
		return problem(fiber.StatusUnauthorized, "unauthenticated")
	}
	actor, err := a.store.Actor(c.Context(), userID, deviceID)
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
