package dashboard

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"toso/store"
)

type loginData struct {
	Phone string
}

// loginPage handles GET /login: the form, or the overview when signed in.
func (d *Dashboard) loginPage(c fiber.Ctx) error {
	lang := d.lang(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Frame-Options", "DENY")
	if _, _, ok, err := d.session(c); err == nil && ok {
		return c.Redirect().Status(fiber.StatusSeeOther).To("/")
	}
	return d.showLogin(c, lang, fiber.StatusOK, "", "")
}

func (d *Dashboard) showLogin(c fiber.Ctx, lang string, status int, phone, msg string) error {
	nonce := d.loginNonce(c)
	v := &view{Title: tr(lang, "login.title"), Message: msg, Data: loginData{Phone: phone}}
	return d.renderPage(c, lang, d.sign("login", nonce), status, "login", v)
}

// login handles POST /login: phone and password as for the app (the same
// throttle), a store session on this browser's device, the cookie.
func (d *Dashboard) login(c fiber.Ctx) error {
	lang := d.lang(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	nonce := c.Cookies(loginCookie)
	if nonce == "" || !validToken(c.FormValue(csrfField), d.sign("login", nonce)) {
		return d.errorPage(c, lang, fiber.StatusForbidden, "err.csrf")
	}
	phone := strings.TrimSpace(c.FormValue("phone"))
	password := c.FormValue("password")
	if phone == "" || password == "" || len(phone) > 20 || len(password) > 128 {
		return d.showLogin(c, lang, fiber.StatusUnprocessableEntity, phone, tr(lang, "login.required"))
	}
	ctx := c.Context()
	ip, device := strings.Clone(c.IP()), ""
	if id, err := uuid.Parse(c.Cookies(deviceCookie)); err == nil {
		device = id.String() // a browser this account signed in on before is its bound device
	}
	if d.cfg.Throttle != nil {
		wait, err := d.cfg.Throttle.LoginWait(ctx, ip, phone, device)
		if err != nil {
			return d.fail(c, lang, err)
		} else if wait > 0 {
			return d.showLogin(c, lang, fiber.StatusTooManyRequests, phone, tr(lang, "login.wait"))
		}
	}
	u, err := d.store.Authenticate(ctx, phone, password)
	if errors.Is(err, store.ErrUnauthenticated) {
		return d.showLogin(c, lang, fiber.StatusUnauthorized, phone, tr(lang, "login.invalid"))
	} else if err != nil {
		return d.fail(c, lang, err)
	}
	if d.cfg.Throttle != nil {
		d.cfg.Throttle.LoginSucceeded(ip, phone, device)
	}
	if u.Role.InTeam() {
		// Members and team leads work in the app; no session is opened.
		return d.showLogin(c, lang, fiber.StatusForbidden, phone, tr(lang, "login.team"))
	}
	info := store.DeviceInfo{ID: d.deviceID(c), Platform: "web", AppVersion: "dashboard"}
	sess, err := d.store.OpenSession(ctx, u.ID, info, d.cfg.SessionTTL)
	if errors.Is(err, store.ErrDeviceBound) {
		// Another account used this browser: it gets a device of its own.
		info.ID = d.newDevice(c)
		sess, err = d.store.OpenSession(ctx, u.ID, info, d.cfg.SessionTTL)
	}
	if err != nil {
		return d.fail(c, lang, err)
	}
	exp := sess.RefreshExpiresAt
	d.setCookie(c, sessionCookie, d.encodeSession(cookieSession{UserID: u.ID, DeviceID: sess.DeviceID,
		SessionID: sess.ID, Expires: exp}), exp, 0)
	d.clearCookie(c, loginCookie)
	return c.Redirect().Status(fiber.StatusSeeOther).To("/")
}

// logout handles POST /logout: the store session ends (as the API's
// logout does), the cookie goes.
func (d *Dashboard) logout(r *req) error {
	if err := d.store.Logout(r.c.Context(), r.actor); err != nil {
		return err
	}
	d.clearCookie(r.c, sessionCookie)
	return r.c.Redirect().Status(fiber.StatusSeeOther).To("/login")
}
