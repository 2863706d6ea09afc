package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// rawRequest writes req on a fresh connection to base and returns the
// status and the X-Request-ID of the answer.
func rawRequest(t *testing.T, base, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Request-ID")
}

// Requests fasthttp refuses while reading them (a body over the limit: 413;
// headers larger than its read buffer: 431) never reach a route. They are
// logged and counted with the status the client got, not as a 200.
func TestRejectedRequestsAreLoggedAndCountedWithTheirStatus(t *testing.T) {
	e := newTestEnv(t)
	logs := withLog(t, e, func(c *Config) { c.MetricsToken = testMetricsToken })
	base := e.listen()

	status, rid413 := rawRequest(t, base, fmt.Sprintf("POST /v1/teams HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{", 2<<20))
	if status != 413 {
		t.Fatalf("oversized body: got %d, want 413", status)
	}
	status, rid431 := rawRequest(t, base, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: "+
		strings.Repeat("a", 16<<10)+"\r\n\r\n")
	if status != 431 {
		t.Fatalf("oversized headers: got %d, want 431", status)
	}

	lines := accessLines(t, logs)
	byStatus := map[int]accessLine{}
	for _, l := range lines {
		if l.Status == 200 {
			t.Errorf("an access line says 200 although no request succeeded: %+v", l)
		}
		byStatus[l.Status] = l
	}
	for status, rid := range map[int]string{413: rid413, 431: rid431} {
		l, ok := byStatus[status]
		switch {
		case !ok:
			t.Errorf("no access line with status %d:\n%s", status, logs.String())
		case l.Route != "rejected":
			t.Errorf("status %d logged with route %q, want \"rejected\"", status, l.Route)
		case rid == "" || l.RequestID != rid:
			t.Errorf("status %d logged with request id %q, the client got %q", status, l.RequestID, rid)
		}
	}

	body := string(e.do("GET", "/metrics", testMetricsToken, nil).Body)
	for _, want := range []string{
		`toso_http_requests_total{method="POST",route="rejected",status="413"} 1`,
		`toso_http_requests_total{method="GET",route="rejected",status="431"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "toso_http_requests_total{") && strings.Contains(l, `status="200"`) &&
			!strings.Contains(l, `route="/metrics"`) {
			t.Errorf("a refused request was counted as a success: %s", l)
		}
	}
}

// The server makes every request id; a client's own X-Request-ID is kept
// beside it (client_request_id) but never becomes the id, so a client
// cannot make its lines look like another request's.
func TestRequestIDsAreTheServers(t *testing.T) {
	e := newTestEnv(t)
	logs := withLog(t, e, nil)
	var ids []string
	for range 2 {
		r := e.do("GET", "/healthz", "", nil, "X-Request-ID", "chosen-by-client")
		ids = append(ids, r.Header.Get("X-Request-ID"))
	}
	if ids[0] == "chosen-by-client" || ids[0] == "" || ids[0] == ids[1] {
		t.Fatalf("request ids %q: want two distinct ids made by the server", ids)
	}
	lines := accessLines(t, logs)
	if len(lines) != 2 {
		t.Fatalf("got %d access lines, want 2", len(lines))
	}
	for i, l := range lines {
		if l.RequestID != ids[i] || l.ClientRequestID != "chosen-by-client" {
			t.Errorf("line %d: request_id %q client_request_id %q, want %q and \"chosen-by-client\"",
				i, l.RequestID, l.ClientRequestID, ids[i])
		}
	}
	// An error body names the server's id too.
	r := e.do("GET", "/v1/me", "", nil, "X-Request-ID", "chosen-by-client")
	if !strings.Contains(string(r.Body), r.Header.Get("X-Request-ID")) || strings.Contains(string(r.Body), "chosen-by-client") {
		t.Errorf("error body %s does not carry the server's request id %q", r.Body, r.Header.Get("X-Request-ID"))
	}
}
