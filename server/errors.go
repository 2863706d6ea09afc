package server

import (
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-playground/locales/en"
	"github.com/go-playground/locales/vi"
	ut "github.com/go-playground/universal-translator"
	"github.com/go-playground/validator/v10"
	en_translations "github.com/go-playground/validator/v10/translations/en"
	vi_translations "github.com/go-playground/validator/v10/translations/vi"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/requestid"

	"toso/mobileapi"
	"toso/store"
)

// structValidator is Fiber's Config.StructValidator: every c.Bind() call
// validates with the struct's `validate` tags. Field names in errors are the
// JSON (or query) names.
type structValidator struct {
	v  *validator.Validate
	en ut.Translator
	vi ut.Translator
}

func newStructValidator() (*structValidator, error) {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		for _, tag := range []string{"json", "query", "form"} {
			name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
		return f.Name
	})
	enLoc, viLoc := en.New(), vi.New()
	uni := ut.New(enLoc, enLoc, viLoc)
	enT, _ := uni.GetTranslator("en")
	viT, _ := uni.GetTranslator("vi")
	if err := en_translations.RegisterDefaultTranslations(v, enT); err != nil {
		return nil, err
	}
	if err := vi_translations.RegisterDefaultTranslations(v, viT); err != nil {
		return nil, err
	}
	// Tags the libraries do not translate.
	for _, m := range []struct {
		tag    string
		t      ut.Translator
		format string
	}{
		{"semver", enT, "{0} must be a version such as 1.4.0"},
		{"semver", viT, "{0} phải là số phiên bản, ví dụ 1.4.0"},
	} {
		err := v.RegisterTranslation(m.tag, m.t, func(t ut.Translator) error { return t.Add(m.tag, m.format, true) },
			func(t ut.Translator, fe validator.FieldError) string { s, _ := t.T(fe.Tag(), fe.Field()); return s })
		if err != nil {
			return nil, err
		}
	}
	// The Vietnamese defaults lack the conditional "required" tags (the
	// validator would answer "Key: 'createTargetRequest.quarter'
	// Error:Field validation for 'quarter' failed on the 'required_if'
	// tag"). TestEveryValidationRuleReadsAsASentence walks every rule.
	for _, tag := range []string{"required_if", "required_unless", "required_with", "required_without"} {
		err := v.RegisterTranslation(tag, viT,
			func(ut ut.Translator) error {
				return ut.Add(tag, "{0} không được bỏ trống trong trường hợp này", true)
			},
			func(ut ut.Translator, fe validator.FieldError) string {
				s, _ := ut.T(tag, fe.Field())
				return s
			})
		if err != nil {
			return nil, err
		}
	}
	return &structValidator{v: v, en: enT, vi: viT}, nil
}

func (s *structValidator) Validate(out any) error { return s.v.Struct(out) }

// lang is the response language (mobileapi.Lang).
func lang(c fiber.Ctx) string { return mobileapi.Lang(c) }

type errorBody struct {
	Error map[string]any `json:"error"`
}

// errorHandler is the one place errors become responses. Internal errors
// are logged once with the request id and never shown to the client.
func errorHandler(log *slog.Logger, sv *structValidator) fiber.ErrorHandler {
	return func(c fiber.Ctx, err error) error {
		p := toProblem(err, sv, lang(c))
		rid := requestid.FromContext(c)
		if p.Status >= 500 {
			log.ErrorContext(c.Context(), "request failed", "request_id", rid, "method", c.Method(),
				"route", c.Route().Path, "err", err)
		}
		msg := mobileapi.Messages[p.Code]
		text := msg.VI
		if lang(c) == "en" {
			text = msg.EN
		}
		if p.Detail != "" {
			text = p.Detail
			if lang(c) == "vi" && p.DetailVI != "" {
				text = p.DetailVI
			}
		}
		if text == "" {
			text = p.Code
		}
		body := map[string]any{"code": p.Code, "message": text, "request_id": rid}
		if len(p.Fields) > 0 {
			fields, reasons := mobileapi.LocalizeFields(p.Fields, lang(c))
			body["fields"] = fields
			if len(reasons) > 0 {
				body["reasons"] = reasons
			}
		}
		extra := p.Extra
		if lang(c) == "vi" && p.ExtraVI != nil {
			extra = p.ExtraVI
		}
		for k, v := range extra {
			body[k] = v
		}
		if p.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(p.RetryAfter))
		}
		return c.Status(p.Status).JSON(errorBody{Error: body})
	}
}

// toProblem classifies an error: validation, malformed input, store
// sentinels, Fiber errors, and everything else as internal.
func toProblem(err error, sv *structValidator, lang string) *mobileapi.Problem {
	var (
		p   *mobileapi.Problem
		ve  validator.ValidationErrors
		be  *fiber.BindError
		fe  *fiber.Error
		ive *validator.InvalidValidationError
		sfe *store.FieldError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &ve):
		t := sv.vi
		if lang == "en" {
			t = sv.en
		}
		fields := make(map[string]string, len(ve))
		for _, fe := range ve {
			name := strings.TrimPrefix(fe.Namespace(), strings.SplitN(fe.Namespace(), ".", 2)[0]+".")
			fields[name] = fe.Translate(t)
		}
		return &mobileapi.Problem{Status: fiber.StatusUnprocessableEntity, Code: "validation_failed", Fields: fields}
	case errors.As(err, &ive):
		return &mobileapi.Problem{Status: fiber.StatusInternalServerError, Code: "internal"}
	case errors.As(err, &be):
		p := &mobileapi.Problem{Status: fiber.StatusBadRequest, Code: "bad_request"}
		if be.Field != "" {
			p.Fields = map[string]string{be.Field: "malformed"}
		}
		return p
	case errors.As(err, &sfe):
		reason := sfe.ReasonVI
		if lang == "en" {
			reason = sfe.Reason
		}
		if errors.Is(err, store.ErrConflict) {
			return &mobileapi.Problem{Status: fiber.StatusConflict, Code: "conflict", Fields: map[string]string{sfe.Field: reason}}
		}
		return &mobileapi.Problem{Status: fiber.StatusUnprocessableEntity, Code: "validation_failed", Fields: map[string]string{sfe.Field: reason}}
	case errors.Is(err, store.ErrNotFound):
		return &mobileapi.Problem{Status: fiber.StatusNotFound, Code: "not_found"}
	case errors.Is(err, store.ErrForbidden):
		return &mobileapi.Problem{Status: fiber.StatusForbidden, Code: "forbidden"}
	case errors.Is(err, store.ErrConflict):
		return storeProblem(fiber.StatusConflict, "conflict", err, lang)
	case errors.Is(err, store.ErrInvalid):
		return storeProblem(fiber.StatusUnprocessableEntity, "validation_failed", err, lang)
	case errors.Is(err, store.ErrUnauthenticated):
		return &mobileapi.Problem{Status: fiber.StatusUnauthorized, Code: "unauthenticated"}
	case errors.As(err, &fe):
		return fiberProblem(fe)
	}
	return &mobileapi.Problem{Status: fiber.StatusInternalServerError, Code: "internal"}
}

// storeProblem explains a conflict or an invalid value with the store's
// own reason ("phone 0912345678 is already registered"), translated
// (mobileapi.LocalizeDetail): it becomes the message and "detail", in the
// caller's language. A reason the catalog does not know (schema text such
// as a failed constraint) is not shown: the message stays the code's.
func storeProblem(status int, code string, err error, lang string) *mobileapi.Problem {
	p := &mobileapi.Problem{Status: status, Code: code}
	msg := err.Error()
	for _, s := range []error{store.ErrConflict, store.ErrInvalid} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	en, vi := mobileapi.LocalizeDetail(msg, "en"), mobileapi.LocalizeDetail(msg, "vi")
	if en == "" {
		return p
	}
	p.Detail, p.DetailVI = en, vi
	p.Extra = map[string]any{"detail": en}
	p.ExtraVI = map[string]any{"detail": vi}
	return p
}

func fiberProblem(fe *fiber.Error) *mobileapi.Problem {
	code := map[int]string{
		fiber.StatusBadRequest:            "bad_request",
		fiber.StatusUnauthorized:          "unauthenticated",
		fiber.StatusForbidden:             "forbidden",
		fiber.StatusNotFound:              "not_found",
		fiber.StatusMethodNotAllowed:      "method_not_allowed",
		fiber.StatusRequestTimeout:        "request_timeout",
		fiber.StatusConflict:              "conflict",
		fiber.StatusRequestEntityTooLarge: "too_large",
		fiber.StatusUnsupportedMediaType:  "unsupported_media_type",
		fiber.StatusUnprocessableEntity:   "validation_failed",
		fiber.StatusTooManyRequests:       "rate_limited",
		fiber.StatusServiceUnavailable:    "unavailable",
	}[fe.Code]
	if code == "" {
		if fe.Code >= 500 {
			return &mobileapi.Problem{Status: fiber.StatusInternalServerError, Code: "internal"}
		}
		code = "bad_request"
	}
	return &mobileapi.Problem{Status: fe.Code, Code: code}
}
