package server

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-playground/validator/v10"
)

// validateRules collects every rule ("tag" or "tag=param") of every
// `validate` struct tag in the packages that bind requests.
func validateRules(t *testing.T) []string {
	t.Helper()
	var rules []string
	fset := token.NewFileSet()
	for _, dir := range []string{"../mobileapi", "../dashboard"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				field, ok := n.(*ast.Field)
				if !ok || field.Tag == nil {
					return true
				}
				tag, _ := strconv.Unquote(field.Tag.Value)
				if v, ok := reflect.StructTag(tag).Lookup("validate"); ok {
					rules = append(rules, strings.Split(v, ",")...)
				}
				return true
			})
		}
	}
	slices.Sort(rules)
	return slices.Compact(rules)
}

// failing validates candidate values against one rule until one fails it,
// and returns that failure. Cross-field rules get the fields they name,
// set so the rule applies.
func failing(sv *structValidator, rule string) (validator.FieldError, bool) {
	tag, param, _ := strings.Cut(rule, "=")
	others := map[string]string{}
	switch tag {
	case "required_if":
		f := strings.Fields(param)
		others[f[0]] = f[1]
	case "required_unless":
		others[strings.Fields(param)[0]] = "something else"
	case "required_with":
		others[param] = "set"
	case "nefield":
		others[param] = "same"
	}
	candidates := []any{"", "x", "same", strings.Repeat("x", 5000), "zz not allowed", int64(0), int64(-5), int64(1 << 40),
		[]string{}, []string{"a", "a"}, make([]string, 600), map[string]string{}, make(map[string]string, 0)}
	big := map[string]string{}
	for i := range 600 {
		big[strconv.Itoa(i)] = "v"
	}
	candidates = append(candidates, big)
	for _, c := range candidates {
		fields := []reflect.StructField{{Name: "F", Type: reflect.TypeOf(c), Tag: reflect.StructTag(`json:"f" validate:"` + rule + `"`)}}
		for name := range others {
			fields = append(fields, reflect.StructField{Name: name, Type: reflect.TypeOf(""), Tag: reflect.StructTag(`json:"` + strings.ToLower(name) + `"`)})
		}
		v := reflect.New(reflect.StructOf(fields)).Elem()
		v.Field(0).Set(reflect.ValueOf(c))
		for i := 1; i < v.NumField(); i++ {
			v.Field(i).SetString(others[v.Type().Field(i).Name])
		}
		var ve validator.ValidationErrors
		if err := sv.Validate(v.Addr().Interface()); errors.As(err, &ve) {
			for _, fe := range ve {
				if fe.Tag() == tag {
					return fe, true
				}
			}
		}
	}
	return nil, false
}

// TestEveryValidationRuleReadsAsASentence walks every validation rule the
// request types use and makes each fail: its message is a sentence in
// Vietnamese and in English, never the validator's raw "Key: … Error:Field
// validation for … failed on the … tag".
func TestEveryValidationRuleReadsAsASentence(t *testing.T) {
	sv, err := newStructValidator()
	if err != nil {
		t.Fatal(err)
	}
	rules := validateRules(t)
	if len(rules) < 20 {
		t.Fatalf("found %d rules: the walk is broken", len(rules))
	}
	tested := 0
	for _, rule := range rules {
		tag, _, _ := strings.Cut(rule, "=")
		switch tag {
		case "omitempty", "dive", "keys", "endkeys", "required_without":
			continue // structure, not a check
		}
		fe, ok := failing(sv, rule)
		if !ok {
			t.Errorf("rule %q: no candidate value fails it; extend the candidates", rule)
			continue
		}
		tested++
		vi, en := fe.Translate(sv.vi), fe.Translate(sv.en)
		for lang, msg := range map[string]string{"vi": vi, "en": en} {
			if strings.Contains(msg, "Error:Field validation") || strings.Contains(msg, "Key: '") || !strings.Contains(msg, "f") ||
				len([]rune(msg)) < 8 {
				t.Errorf("rule %q in %s: %q, want a sentence naming the field", rule, lang, msg)
			}
		}
		if vi == en {
			t.Errorf("rule %q: the same text in both languages: %q", rule, vi)
		}
	}
	t.Logf("%d rules made to fail and read in both languages", tested)
}
