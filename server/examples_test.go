package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The examples of mobileapi/openapi.json are real exchanges, the smallest
// successful one of each operation that the tests make:
//
//	go test ./server -run 'TestOpenAPIConformance|TestSync' -openapi.examples
//
// writes them into the document (its order and layout kept; existing
// examples are replaced). Every example is validated against its schema
// when the document loads (loadContract), and TestEveryOperationHasExamples
// keeps one per operation.

var recordExamples = flag.Bool("openapi.examples", false, "write the smallest successful exchange of each operation into mobileapi/openapi.json as its examples")

// recorded is one exchange kept as an example.
type recorded struct {
	Request  json.RawMessage `json:"request,omitempty"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

var examples = struct {
	sync.Mutex
	byOp map[string]recorded
}{byOp: map[string]recorded{}}

// maxExample bounds an example's request and answer together: the largest
// exchange under it is kept (a list with a few items, a pull with a few
// rows), so the document shows real shapes without growing past reading.
const maxExample = 1800

// record keeps the exchange as the example of its operation when it is a
// success with a JSON body (or none), larger than the one kept so far and
// within maxExample.
func record(op string, reqBody []byte, status int, respType string, respBody []byte) {
	if !*recordExamples || status/100 != 2 || len(respBody) > maxExample {
		return
	}
	if len(respBody) > 0 && !strings.HasPrefix(respType, "application/json") {
		return
	}
	if len(respBody) > 0 && !json.Valid(respBody) {
		return
	}
	if !json.Valid(reqBody) {
		reqBody = nil // an upload (CSV, XLSX): its answer is the example
	}
	examples.Lock()
	defer examples.Unlock()
	if old, ok := examples.byOp[op]; ok && len(old.Request)+len(old.Response) >= len(reqBody)+len(respBody) {
		return
	}
	examples.byOp[op] = recorded{Request: slices.Clone(reqBody), Status: status, Response: slices.Clone(respBody)}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if *recordExamples && code == 0 {
		if err := writeExamples("../mobileapi/openapi.json"); err != nil {
			fmt.Fprintln(os.Stderr, "openapi.examples:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// writeExamples sets the recorded exchanges as the examples of their
// operations' JSON request bodies and answers.
func writeExamples(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := parseOrdered(b)
	if err != nil {
		return err
	}
	paths := doc.(*object).get("paths").(*object)
	examples.Lock()
	defer examples.Unlock()
	n := 0
	for op, ex := range examples.byOp {
		method, p, _ := strings.Cut(op, " ")
		item, _ := paths.get(p).(*object)
		if item == nil {
			continue
		}
		o, _ := item.get(strings.ToLower(method)).(*object)
		if o == nil {
			continue
		}
		if len(ex.Request) > 0 {
			if rb, _ := o.get("requestBody").(*object); rb != nil {
				if mt := mediaType(rb); mt != nil {
					v, err := parseOrdered(ex.Request)
					if err != nil {
						return err
					}
					mt.set("example", v)
					n++
				}
			}
		}
		if len(ex.Response) > 0 {
			if r, _ := o.get("responses").(*object).get(strconv.Itoa(ex.Status)).(*object); r != nil {
				if mt := mediaType(r); mt != nil {
					v, err := parseOrdered(ex.Response)
					if err != nil {
						return err
					}
					mt.set("example", v)
					n++
				}
			}
		}
	}
	var out bytes.Buffer
	writeOrdered(&out, doc, "")
	out.WriteByte('\n')
	fmt.Fprintf(os.Stderr, "openapi.examples: %d examples from %d operations written to %s\n", n, len(examples.byOp), path)
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// mediaType is the application/json media type of a request body or a
// response, when it is described inline.
func mediaType(o *object) *object {
	content, _ := o.get("content").(*object)
	if content == nil {
		return nil
	}
	mt, _ := content.get("application/json").(*object)
	return mt
}

// TestEveryOperationHasExamples: each operation of the document shows a
// request (when it takes a JSON body) and a successful answer (when it
// has a JSON one), and a description.
func TestEveryOperationHasExamples(t *testing.T) {
	c := loadContract(t)
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Description == "" {
				t.Errorf("%s has no description", name)
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Example == nil && len(mt.Examples) == 0 {
					t.Errorf("%s: no request example", name)
				}
			}
			if name == "GET /openapi.json" {
				continue // its answer is this document
			}
			shown := false
			for code, r := range op.Responses.Map() {
				if !strings.HasPrefix(code, "2") || r.Value == nil {
					continue
				}
				mt := r.Value.Content.Get("application/json")
				if mt == nil || mt.Example != nil || len(mt.Examples) > 0 {
					shown = true // no JSON body, or an example of it
				}
			}
			if !shown {
				t.Errorf("%s: no example of a successful answer", name)
			}
		}
	}
}
