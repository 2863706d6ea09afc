package mobileapi

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access tokens are short-lived HS256 JWTs naming the user, the device and
// the session (refresh token family) they were issued in. They carry no role
// or scope: those are loaded from the database on every request, together
// with whether the session is still live, so a change takes effect at once.
const (
	tokenIssuer   = "toso"
	tokenAudience = "toso-app"
)

type accessClaims struct {
	DeviceID  string `json:"did"`
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// Claims is what a verified access token says.
type Claims struct {
	UserID    int64
	DeviceID  string
	SessionID string
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens returns a token issuer; secret must be at least 32 bytes.
func NewTokens(secret string, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("the JWT secret must be at least 32 characters")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: []byte(secret), ttl: ttl, now: now}, nil
}

// Issue returns a signed access token for user on device in session.
func (t *Tokens) Issue(userID int64, deviceID, sessionID string) (string, error) {
	now := t.now()
	c := accessClaims{
		DeviceID:  deviceID,
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   strconv.FormatInt(userID, 10),
			Audience:  jwt.ClaimStrings{tokenAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks signature, algorithm, issuer, audience and expiry, and
// returns the user, device and session the token names.
func (t *Tokens) Verify(token string) (Claims, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenAudience),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(30*time.Second),
	)
	if err != nil {
		return Claims{}, err
	}
	userID, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || userID <= 0 || c.DeviceID == "" || c.SessionID == "" {
		return Claims{}, errors.New("token names no user, device or session")
	}
	return Claims{UserID: userID, DeviceID: c.DeviceID, SessionID: c.SessionID}, nil
}

// TTL is how long an access token lives.
func (t *Tokens) TTL() time.Duration { return t.ttl }
