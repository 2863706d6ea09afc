package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestAccessTokenAttacks sends forged and broken access tokens to a
// protected route. Only the untouched token may pass.
func TestAccessTokenAttacks(t *testing.T) {
	e := newTestEnv(t)
	e.clock.freeze()
	member := e.users["memberA1"]
	admin := e.users["admin"]
	good := e.token("memberA1") // opens memberA1's session
	sid := e.sessions["memberA1"].ID
	did := e.deviceID("memberA1")
	now := e.clock.now()

	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": "toso", "aud": []string{"toso-app"}, "sub": itoa(member.ID), "did": did, "sid": sid,
			"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(testSecret)
	// tampered: the payload of a good token with another sub, the old signature.
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var pm map[string]any
	if err := json.Unmarshal(payload, &pm); err != nil {
		t.Fatal(err)
	}
	pm["sub"] = itoa(admin.ID)
	forged, _ := json.Marshal(pm)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]

	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"untouched token", good, 200},
		{"hand-made token with the right secret", sign(jwt.SigningMethodHS256, secret, claims(nil)), 200},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), 401},
		{"HS512 with the right secret", sign(jwt.SigningMethodHS512, secret, claims(nil)), 401},
		{"RS256", sign(jwt.SigningMethodRS256, rsaKey, claims(nil)), 401},
		{"wrong secret", sign(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 40)), claims(nil)), 401},
		{"bad signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), 401},
		{"tampered sub", tampered, 401},
		{"expired", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix()
		})), 401},
		{"no expiry", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "exp") })), 401},
		{"missing did", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "did") })), 401},
		{"missing sid", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "sid") })), 401},
		{"wrong audience", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["aud"] = []string{"other"} })), 401},
		{"another user's sub in this session", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["sub"] = itoa(admin.ID) })), 401},
		{"another device in this session", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["did"] = e.deviceID("admin") })), 401},
		{"unknown session", sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["sid"] = "00000000-0000-4000-8000-000000000000" })), 401},
		{"not a JWT", "hello", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/v1/me", tt.token, nil)
			if r.Status != tt.want {
				t.Fatalf("got %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			if tt.want == 401 && r.ErrorCode() != "unauthenticated" {
				t.Errorf("code %q, want unauthenticated", r.ErrorCode())
			}
		})
	}
	if r := e.do("GET", "/v1/me", "", nil); r.Status != 401 {
		t.Errorf("no Authorization header: got %d, want 401", r.Status)
	}
	// The access token lives 15 minutes (with 30 s leeway for phone clocks).
	e.clock.advance(16 * time.Minute)
	if got := e.meStatus(sign(jwt.SigningMethodHS256, secret, claims(nil))); got != 401 {
		t.Errorf("token past its expiry: got %d, want 401", got)
	}
}
