package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"toso/mobileapi"
)

// contract is the OpenAPI document the server serves, loaded with
// kin-openapi. The harness checks every request the tests send and every
// answer against it (see testEnv.do), so the document cannot drift from the
// code: a response shape or status the document does not describe fails
// whichever test provoked it.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	// mu serializes checks: one contract serves every env of the test
	// binary, parallel simulation seeds included, and kin-openapi does not
	// promise that validation is safe for concurrent use.
	mu sync.Mutex
}

func loadContract(t testing.TB) *contract {
	t.Helper()
	c, err := parsedContract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parsedContract parses and validates the document once per test binary
// (~0.1 s each time, and every test env needs it; the simulation builds
// two envs a seed). The contract is only read afterwards.
var parsedContract = sync.OnceValues(func() (*contract, error) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(mobileapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(ctx, openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.json routes: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// bearerPresent is the document's bearerAuth as seen from outside: a
// request without a bearer token does not conform (the server must answer
// 401). Whether the token is good is the server's business.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); !ok || tok == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// check validates one exchange. reqErr says whether the request conforms
// to the document; respErr whether the answer does (its status must be one
// the operation lists, its headers and body must match).
func (c *contract) check(req *http.Request, reqBody []byte, r response) (reqErr, respErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx := context.Background()
	vreq := req.Clone(ctx)
	if req.Header.Get("Content-Encoding") == "gzip" {
		reqBody = gunzip(reqBody)
		vreq.Header.Del("Content-Encoding")
	}
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	vreq.ContentLength = int64(len(reqBody))
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		// No such operation: either no such route (the server answers
		// 404 or 405, and a 2xx is reported by do), or a route the
		// document lacks, which TestEveryRouteIsDocumented reports once
		// rather than every test that calls it.
		return err, nil
	}
	opts := &openapi3filter.Options{AuthenticationFunc: bearerPresent, IncludeResponseStatus: true, MultiError: true,
		// Uploads (CSV, XLSX, multipart) are checked by their own tests;
		// kin-openapi has no decoder for all of them.
		ExcludeRequestBody: len(reqBody) > 0 && !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json"),
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	reqErr = openapi3filter.ValidateRequest(ctx, in)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status, Header: r.Header, Options: opts}
	body := r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		body = gunzip(body)
	}
	out.SetBodyBytes(body)
	// Nor has it one for XLSX downloads: TestReportExports opens them.
	opts.ExcludeResponseBody = strings.HasPrefix(r.Header.Get("Content-Type"), "application/vnd.openxmlformats")
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		respErr = fmt.Errorf("%s %s → %d %s: %w", req.Method, route.Path, r.Status, truncate(r.Body, 300), err)
	}
	if respErr == nil && route.Path == "/v1/sync/push" && r.Status == http.StatusOK {
		respErr = c.checkApplied(reqBody, body)
	}
	return reqErr, respErr
}

// checkApplied checks every mutation of a push that the server applied
// (or merged) against the document's TypedMutation: the server may not
// take a field, a type or a value the document does not describe. (A
// mutation the schema rules out may still arrive: it must be rejected.)
func (c *contract) checkApplied(reqBody, respBody []byte) error {
	var req struct {
		Mutations []map[string]any `json:"mutations"`
	}
	var resp struct {
		Results []struct {
			Mid    int64  `json:"mid"`
			Status string `json:"status"`
		} `json:"results"`
	}
	if json.Unmarshal(reqBody, &req) != nil || json.Unmarshal(respBody, &resp) != nil {
		return nil // the request and response checks report what is malformed
	}
	applied := map[int64]bool{}
	for _, r := range resp.Results {
		applied[r.Mid] = r.Status == "applied" || r.Status == "merged"
	}
	typed := c.doc.Components.Schemas["TypedMutation"].Value
	for _, m := range req.Mutations {
		mid, _ := m["mid"].(float64)
		if !applied[int64(mid)] {
			continue
		}
		if err := typed.VisitJSON(m, openapi3.MultiErrors()); err != nil {
			return fmt.Errorf("push: mutation %v (%v %v) was applied but openapi.json's TypedMutation rules it out: %.600v", m["mid"], m["table"], m["op"], err)
		}
	}
	return nil
}

// gunzip returns the inflated b, or b itself when it is not gzip (the
// validation then reports what is wrong with it).
func gunzip(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return b
	}
	return out
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
