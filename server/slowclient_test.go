package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsAreCutOff opens connections that never finish their
// request (headers that never end; a push whose body stops after a few
// bytes) and checks that the server closes each of them once ReadTimeout
// has passed, without running a handler, while it keeps answering everyone
// else. The timeout is shortened to keep the test quick; serve uses the
// default (30 s).
func TestSlowClientsAreCutOff(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	base := e.listen()
	addr := strings.TrimPrefix(base, "http://")
	token := e.token("memberA1")
	starts := map[string]string{
		"headers never end": "GET /healthz HTTP/1.1\r\nHost: toso\r\nX-Slow: ",
		"body never ends": "POST /v1/sync/push HTTP/1.1\r\nHost: toso\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token +
			"\r\nContent-Length: 4000\r\n\r\n{\"protocol\":1,",
	}
	var conns []net.Conn
	for range 20 {
		for _, start := range starts {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, start); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
	}
	// Everyone else is served while the slow connections hang.
	for range 5 {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("healthz: %d", resp.StatusCode)
		}
	}
	// Each slow connection is closed by the server (a safety deadline far
	// beyond ReadTimeout only keeps a broken server from hanging the test).
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection %d: still open a minute later", i)
		}
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("connection %d: a request that never finished was answered %d %s", i, resp.StatusCode, b)
			}
		}
	}
	if got := countRows(t, e, `SELECT count(*) FROM devices WHERE last_mid > 0`); got != 0 {
		t.Errorf("%d devices pushed: a half-sent push reached the handler", got)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
