package mobileapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type loginRequest struct {
	Phone      string `json:"phone" validate:"required,max=20"`
	Password   string `json:"password" validate:"required,max=128"`
	DeviceID   string `json:"device_id" validate:"required,uuid"`
	Platform   string `json:"platform" validate:"required,oneof=android ios web"`
	AppVersion string `json:"app_version" validate:"max=40"`
	PushToken  string `json:"push_token" validate:"max=4096"`
}

// tokenResponse is a fresh pair of tokens. User is set at login.
type tokenResponse struct {
	AccessToken      string        `json:"access_token"`
	RefreshToken     string        `json:"refresh_token"`
	ExpiresIn        int           `json:"expires_in"` // seconds the access token lives
	TokenType        string        `json:"token_type"`
	RefreshExpiresAt string        `json:"refresh_expires_at"`
	User             *userResponse `json:"user,omitempty"`
}

func (a *API) newTokenResponse(s *store.Session, u *store.User) (tokenResponse, error) {
	access, err := a.tokens.Issue(s.UserID, s.DeviceID, s.ID)
	if err != nil {
		return tokenResponse{}, err
	}
	r := tokenResponse{
		AccessToken: access, RefreshToken: s.RefreshToken, ExpiresIn: int(a.tokens.TTL().Seconds()),
		TokenType: "Bearer", RefreshExpiresAt: rfc3339(s.RefreshExpiresAt),
	}
	if u != nil {
		ur := newUserResponse(u)
		r.User = &ur
	}
	return r, nil
}

// login handles POST /v1/auth/login. Unknown phone and wrong password get
// the same 401 invalid_credentials (and cost the same time). A device id
// already bound to another user is 409 device_bound, answered only after
// the password was right, so it tells a stranger nothing. Throttles: see
// loginWait.
func (a *API) login(c fiber.Ctx) error {
	var req loginRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	ip, device := strings.Clone(c.IP()), strings.ToLower(req.DeviceID)
	wait, err := a.loginWait(c.Context(), ip, req.Phone, device)
	if err != nil {
		return err
	} else if wait > 0 {
		return rateLimited(wait)
	}
	u, sess, err := a.store.Login(c.Context(), req.Phone, req.Password, store.DeviceInfo{
		ID: req.DeviceID, Platform: req.Platform, AppVersion: req.AppVersion, PushToken: req.PushToken,
	}, a.cfg.RefreshTokenTTL)
	switch {
	case errors.Is(err, store.ErrDeviceBound):
		a.LoginSucceeded(ip, req.Phone, device) // the password was right
		return problem(fiber.StatusConflict, "device_bound")
	case errors.Is(err, store.ErrUnauthenticated):
		return problem(fiber.StatusUnauthorized, "invalid_credentials")
	case err != nil:
		return err
	}
	a.LoginSucceeded(ip, req.Phone, device)
	if req.Platform != "web" {
		a.store.RecordDeviceActivity(sess.DeviceID, store.ActivityLogin, -1, "")
	}
	r, err := a.newTokenResponse(sess, u)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// loginWait counts a login attempt of phone from ip on device and returns
// 0 when it may go ahead, or how long to wait. A device already bound to
// that account is throttled only by its own failures, so whoever holds the
// owner's phone and password always gets in, whatever strangers do. Any
// other device counts against the client address (all attempts, any phone),
// the (phone, address) pair and the phone's ceiling: a stranger's failures
// slow the stranger's address down, not the owner's.
func (a *API) loginWait(ctx context.Context, ip, phone, device string) (time.Duration, error) {
	bound := false
	if device != "" {
		var err error
		if bound, err = a.store.DeviceBoundTo(ctx, device, phone); err != nil {
			return 0, err
		}
	}
	if bound {
		return a.loginFails.attempt(deviceKey(phone, device)), nil
	}
	if wait := a.loginIP.take(ip); wait > 0 {
		return wait, nil
	}
	return a.loginFails.attempt(addressKey(phone, ip), "all:"+phoneKey(phone)), nil
}

// phoneKey is the login throttle's key: the normalized phone, so "+84…"
// and "0…" count together.
func phoneKey(phone string) string {
	if p, err := store.NormalizePhone(phone); err == nil {
		return "phone:" + p
	}
	return "raw:" + strings.TrimSpace(phone)
}

func addressKey(phone, ip string) string    { return phoneKey(phone) + "|ip:" + ip }
func deviceKey(phone, device string) string { return phoneKey(phone) + "|device:" + device }

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=200"`
	DeviceID     string `json:"device_id" validate:"required,uuid"`
}

// refresh handles POST /v1/auth/refresh: the old refresh token dies and a
// new pair comes back. A spent token revokes its session: 401 token_reused.
func (a *API) refresh(c fiber.Ctx) error {
	var req refreshRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	sess, err := a.store.Refresh(c.Context(), req.RefreshToken, req.DeviceID, a.cfg.RefreshTokenTTL)
	if errors.Is(err, store.ErrTokenReused) {
		// A security event worth a line: a stolen token, or an app that
		// refreshes twice at once. The error names family and device only.
		a.log.WarnContext(c.Context(), "refresh token reused: session revoked", "ip", c.IP(), "err", err.Error())
	}
	if err != nil {
		return authProblem(err)
	}
	r, err := a.newTokenResponse(sess, nil)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func authProblem(err error) error {
	switch {
	case errors.Is(err, store.ErrTokenReused):
		return problem(fiber.StatusUnauthorized, "token_reused")
	case errors.Is(err, store.ErrUnauthenticated):
		return problem(fiber.StatusUnauthorized, "unauthenticated")
	}
	return err
}

// logout handles POST /v1/auth/logout: the session of the device the access
// token names ends (its refresh and access tokens). No body is needed.
func (a *API) logout(c fiber.Ctx) error {
	if err := a.store.Logout(c.Context(), actor(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type changePasswordRequest struct {
	OldPassword string `json:"old_password" validate:"required,max=128"`
	NewPassword string `json:"new_password" validate:"required,min=8,max=128,nefield=OldPassword"`
}

// changePassword handles POST /v1/auth/password. Every session of the user
// ends, the other devices must log in again, and this device gets a fresh
// pair in the response. A wrong old password is 401 invalid_credentials and
// counts towards the same lock as failed logins.
func (a *API) changePassword(c fiber.Ctx) error {
	var req changePasswordRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	act := actor(c)
	key := "user:" + strconv.FormatInt(act.UserID, 10)
	if wait := a.loginFails.attempt(key); wait > 0 {
		return rateLimited(wait)
	}
	err := a.store.ChangePassword(c.Context(), act, req.OldPassword, req.NewPassword)
	if errors.Is(err, store.ErrUnauthenticated) {
		return problem(fiber.StatusUnauthorized, "invalid_credentials")
	} else if err != nil {
		return err
	}
	a.loginFails.reset(key)
	sess, err := a.store.RenewSession(c.Context(), act, a.cfg.RefreshTokenTTL)
	if err != nil {
		return authProblem(err)
	}
	r, err := a.newTokenResponse(sess, nil)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// LoginWait counts a login attempt of phone from ip on device (the
// browser's device id, "" if it has none) against the same throttles as
// POST /v1/auth/login and returns 0 when it may go ahead, or how long to
// wait. The dashboard's login form uses it, so a phone's failures count
// the same through both doors.
func (a *API) LoginWait(ctx context.Context, ip, phone, device string) (time.Duration, error) {
	return a.loginWait(ctx, ip, phone, strings.ToLower(device))
}

// LoginSucceeded clears the failures of phone: from ip, on device and its
// ceiling.
func (a *API) LoginSucceeded(ip, phone, device string) {
	a.loginFails.reset(addressKey(phone, ip), deviceKey(phone, strings.ToLower(device)), "all:"+phoneKey(phone))
}
