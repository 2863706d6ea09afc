package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fromLoopback is an HTTP client whose connections leave from the given
// loopback address (127.0.0.2, 127.0.0.3 … are all this machine), so one
// test can be several clients, or a proxy and its clients.
func fromLoopback(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:       d.DialContext,
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the test's self-signed certificate
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// serveOn runs e.srv on ln until the test ends.
func serveOn(t *testing.T, e *testEnv, ln net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped: %v", err)
		}
	})
}

// selfSigned is a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "toso test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// cookieSecure GETs the dashboard's login page (which sets the login
// nonce cookie) and reports whether that cookie is marked Secure.
func cookieSecure(t *testing.T, c *http.Client, url string, headers ...string) bool {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("GET /login set no cookie")
	}
	for _, ck := range cookies {
		if !ck.Secure {
			return false
		}
	}
	return true
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	e := newTestEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, e, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}))
	if !cookieSecure(t, fromLoopback("127.0.0.1"), "https://"+ln.Addr().String()) {
		t.Error("over TLS the dashboard's cookies are not Secure")
	}
	plain := e.listen()
	if cookieSecure(t, fromLoopback("127.0.0.1"), plain) {
		t.Error("over plain HTTP the cookies are Secure (a browser would drop them)")
	}
	// Without a trusted proxy, a client's X-Forwarded-Proto changes nothing.
	if cookieSecure(t, fromLoopback("127.0.0.1"), plain, "X-Forwarded-Proto", "https") {
		t.Error("an untrusted X-Forwarded-Proto made the cookies Secure")
	}
}

// accessLine is one access log line.
type accessLine struct {
	Msg             string `json:"msg"`
	IP              string `json:"ip"`
	Status          int    `json:"status"`
	Route           string `json:"route"`
	RequestID       string `json:"request_id"`
	ClientRequestID string `json:"client_request_id"`
}

func accessLines(t *testing.T, logs *syncBuffer) []accessLine {
	t.Helper()
	var out []accessLine
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var a accessLine
		if l == "" || json.Unmarshal([]byte(l), &a) != nil || a.Msg != "request" {
			continue
		}
		out = append(out, a)
	}
	return out
}

// withLog rebuilds e.srv with cfg changed by opt and its log (access log
// on) written to the returned buffer.
func withLog(t *testing.T, e *testEnv, opt func(*Config)) *syncBuffer {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{Addr: "127.0.0.1:0", JWTSecret: testSecret, Now: e.clock.now, AccessLog: true, Limits: e.srv.cfg.Limits}
	if opt != nil {
		opt(&cfg)
	}
	srv, err := New(cfg, e.store, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	return logs
}

func TestTrustedProxyHeaders(t *testing.T) {
	e := newTestEnv(t)
	logs := withLog(t, e, func(c *Config) { c.TrustedProxies = []string{"127.0.0.2/32"} })
	base := e.listen()
	spoof := []string{"X-Forwarded-For", "203.0.113.9, 198.51.100.7", "X-Forwarded-Proto", "https"}

	// From the trusted proxy: the client is the rightmost address that is
	// not a trusted proxy, and the scheme is the proxy's.
	if !cookieSecure(t, fromLoopback("127.0.0.2"), base, spoof...) {
		t.Error("behind the trusted proxy (X-Forwarded-Proto: https) the cookies are not Secure")
	}
	// From anyone else the same headers are ignored.
	if cookieSecure(t, fromLoopback("127.0.0.3"), base, spoof...) {
		t.Error("a client that is not a trusted proxy made the cookies Secure")
	}
	lines := accessLines(t, logs)
	if len(lines) != 2 {
		t.Fatalf("got %d access lines, want 2:\n%s", len(lines), logs.String())
	}
	if got, want := lines[0].IP, "198.51.100.7"; got != want {
		t.Errorf("through the trusted proxy: ip %q, want %q", got, want)
	}
	if got, want := lines[1].IP, "127.0.0.3"; got != want {
		t.Errorf("from an untrusted client: ip %q, want %q (its X-Forwarded-For ignored)", got, want)
	}
}
