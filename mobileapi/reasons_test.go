package mobileapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// literals walks the Go files of dir (tests excluded) and calls found with
// each string literal that fn picks out of a call.
func sourceCalls(t *testing.T, dir string, fn func(call *ast.CallExpr, found func(string))) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				fn(call, func(s string) { out = append(out, s) })
			}
			return true
		})
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func strLit(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind == token.STRING {
			s, err := strconv.Unquote(v.Value)
			return s, err == nil
		}
	case *ast.BinaryExpr: // "must be one of " + strings.Join(...)
		if v.Op == token.ADD {
			return strLit(v.X)
		}
	}
	return "", false
}

func callName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
		return f.Sel.Name
	}
	return ""
}

// TestEveryFieldReasonIsTranslated walks the store's mutation parsers
// (r.bad, reject) and this package's field problems: every reason a phone
// or a user can meet has a stable code and a sentence in both languages.
func TestEveryFieldReasonIsTranslated(t *testing.T) {
	reasons := sourceCalls(t, "../store", func(call *ast.CallExpr, found func(string)) {
		switch callName(call) {
		case "r.bad", "bad":
			if len(call.Args) == 2 {
				if s, ok := strLit(call.Args[1]); ok {
					found(s)
				}
			}
		case "reject":
			for i := 2; i < len(call.Args); i += 2 {
				if s, ok := strLit(call.Args[i]); ok {
					found(s)
				}
			}
		}
	})
	reasons = append(reasons, sourceCalls(t, ".", func(call *ast.CallExpr, found func(string)) {
		if callName(call) == "fieldProblem" && len(call.Args) == 2 {
			if s, ok := strLit(call.Args[1]); ok {
				found(s)
			}
		}
	})...)
	if len(reasons) < 40 {
		t.Fatalf("found %d reasons in the source: the walk is broken", len(reasons))
	}
	for _, text := range reasons {
		r, ok := lookupReason(text)
		if !ok {
			t.Errorf("reason %q has no entry in fieldReasons", text)
			continue
		}
		if r.Code == "" || r.EN == "" || r.VI == "" || r.EN == r.VI || !sentence(r.EN) || !sentence(r.VI) {
			t.Errorf("reason %q: %+v, want a code and a sentence in each language", text, r)
		}
	}
}

// TestEveryStoreDetailIsTranslated walks the store's errors that reach a
// client as a 409 or 422 explanation (fmt.Errorf wrapping ErrInvalid or
// ErrConflict): each format has a translation.
func TestEveryStoreDetailIsTranslated(t *testing.T) {
	formats := sourceCalls(t, "../store", func(call *ast.CallExpr, found func(string)) {
		if callName(call) != "fmt.Errorf" || len(call.Args) < 2 {
			return
		}
		last, ok := call.Args[len(call.Args)-1].(*ast.SelectorExpr)
		if !ok {
			if id, isID := call.Args[len(call.Args)-1].(*ast.Ident); !isID || (id.Name != "ErrInvalid" && id.Name != "ErrConflict") {
				return
			}
		} else if last.Sel.Name != "ErrInvalid" && last.Sel.Name != "ErrConflict" {
			return
		}
		if s, ok := strLit(call.Args[0]); ok {
			found(strings.TrimSuffix(s, ": %w"))
		}
	})
	if len(formats) < 30 {
		t.Fatalf("found %d formats: the walk is broken", len(formats))
	}
	for _, f := range formats {
		d, ok := storeDetails[f]
		if !ok {
			t.Errorf("store error %q has no entry in storeDetails", f)
			continue
		}
		if strings.Count(d.EN, "%") != strings.Count(f, "%") || strings.Count(d.VI, "%") != strings.Count(f, "%") {
			t.Errorf("store error %q: %+v, want the same %d values in each language", f, d, strings.Count(f, "%"))
		}
	}
	// And one through the matcher, values and all.
	for _, tc := range []struct{ in, lang, want string }{
		{"phone 0912345678 is already registered", "vi", "Số điện thoại 0912345678 đã được đăng ký."},
		{"phone 0912345678 is already registered", "en", "The phone number 0912345678 is already registered."},
		{"year and quarter (1-4) are required", "vi", "Cần có năm và quý (1–4)."},
		{"something the store never says", "vi", ""},
	} {
		if got := LocalizeDetail(tc.in, tc.lang); got != tc.want {
			t.Errorf("LocalizeDetail(%q, %s) = %q, want %q", tc.in, tc.lang, got, tc.want)
		}
	}
}

// sentence: starts with a capital letter and ends with a full stop.
func sentence(s string) bool {
	r := []rune(s)
	return len(r) > 3 && strings.ToUpper(string(r[0])) == string(r[0]) && strings.HasSuffix(s, ".")
}
