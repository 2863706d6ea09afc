package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"toso/store"
)

// Sessions. A dashboard login is a store session like a phone's (store.Login:
// a refresh token family on a device, platform "web"); the browser is the
// device, named by a long-lived random id in the toso_device cookie. The
// session cookie carries user, device, session and expiry, signed with a key
// derived from the server secret; every request loads the actor through
// store.SessionActor, so a logout (here or from the API), a password change
// or a deactivation ends the dashboard session at once. The refresh token
// itself is never handed to the browser.
//
// CSRF: every form carries a synchronizer token, HMAC(key, "csrf" + session
// id): tied to the session, nothing stored. The login form, before any
// session exists, carries HMAC(key, "login" + a random nonce cookie).

const (
	sessionCookie = "toso_session"
	deviceCookie  = "toso_device"
	loginCookie   = "toso_login"
	langCookie    = "toso_lang"
	csrfField     = "_csrf"
)

// cookieSession is what the session cookie says.
type cookieSession struct {
	UserID    int64
	DeviceID  string
	SessionID string
	Expires   time.Time
}

func (d *Dashboard) sign(parts ...string) string {
	m := hmac.New(sha256.New, d.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// encodeSession is "user.device.session.expiry.signature".
func (d *Dashboard) encodeSession(s cookieSession) string {
	body := strings.Join([]string{strconv.FormatInt(s.UserID, 10), s.DeviceID, s.SessionID,
		strconv.FormatInt(s.Expires.Unix(), 10)}, ".")
	return body + "." + d.sign("session", body)
}

var errBadCookie = errors.New("bad session cookie")

func (d *Dashboard) decodeSession(v string, now time.Time) (cookieSession, error) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return cookieSession{}, errBadCookie
	}
	body, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(d.sign("session", body))) {
		return cookieSession{}, errBadCookie
	}
	p := strings.Split(body, ".")
	if len(p) != 4 {
		return cookieSession{}, errBadCookie
	}
	uid, err1 := strconv.ParseInt(p[0], 10, 64)
	exp, err2 := strconv.ParseInt(p[3], 10, 64)
	if err1 != nil || err2 != nil {
		return cookieSession{}, errBadCookie
	}
	s := cookieSession{UserID: uid, DeviceID: p[1], SessionID: p[2], Expires: time.Unix(exp, 0)}
	if !now.Before(s.Expires) {
		return cookieSession{}, fmt.Errorf("session expired: %w", errBadCookie)
	}
	return s, nil
}

// csrfToken is the synchronizer token of a session.
func (d *Dashboard) csrfToken(sessionID string) string { return d.sign("csrf", sessionID) }

func validToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (d *Dashboard) setCookie(c fiber.Ctx, name, value string, expires time.Time, maxAge int) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires, MaxAge: maxAge,
		// Scheme, not Protocol (the HTTP version): https over TLS, or from
		// a trusted proxy's X-Forwarded-Proto.
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}

func (d *Dashboard) clearCookie(c fiber.Ctx, name string) {
	d.setCookie(c, name, "", time.Unix(0, 0), -1)
}

// deviceID is the browser's device id, made on first use.
func (d *Dashboard) deviceID(c fiber.Ctx) string {
	if id, err := uuid.Parse(c.Cookies(deviceCookie)); err == nil {
		return id.String()
	}
	return d.newDevice(c)
}

func (d *Dashboard) newDevice(c fiber.Ctx) string {
	id := uuid.NewString()
	d.setCookie(c, deviceCookie, id, d.now().AddDate(2, 0, 0), 2*366*24*3600)
	return id
}

// loginNonce returns the login form's nonce, setting its cookie if needed.
func (d *Dashboard) loginNonce(c fiber.Ctx) string {
	if n := c.Cookies(loginCookie); len(n) == 43 {
		return n
	}
	b := make([]byte, 32)
	rand.Read(b)
	n := base64.RawURLEncoding.EncodeToString(b)
	d.setCookie(c, loginCookie, n, time.Time{}, 0)
	return n
}

// session authenticates the request: the signed cookie, then the actor
// with a live session from the store. ok is false when the caller must
// log in.
func (d *Dashboard) session(c fiber.Ctx) (cookieSession, store.Actor, bool, error) {
	v := c.Cookies(sessionCookie)
	if v == "" {
		return cookieSession{}, store.Actor{}, false, nil
	}
	s, err := d.decodeSession(v, d.now())
	if err != nil {
		return cookieSession{}, store.Actor{}, false, nil
	}
	a, err := d.store.SessionActor(c.Context(), s.UserID, s.DeviceID, s.SessionID)
	if errors.Is(err, store.ErrForbidden) {
		return cookieSession{}, store.Actor{}, false, nil
	} else if err != nil {
		return cookieSession{}, store.Actor{}, false, err
	}
	return s, a, true, nil
}
