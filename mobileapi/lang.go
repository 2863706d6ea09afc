package mobileapi

import (
	"strings"

	"github.com/gofiber/fiber/v3"
)

// Lang picks the response language from Accept-Language: "en" when the
// caller prefers English, "vi" otherwise. Error messages, report files and
// the daily summary all follow it.
func Lang(c fiber.Ctx) string {
	for _, part := range strings.Split(c.Get(fiber.HeaderAcceptLanguage), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch {
		case strings.HasPrefix(strings.ToLower(tag), "en"):
			return "en"
		case strings.HasPrefix(strings.ToLower(tag), "vi"):
			return "vi"
		}
	}
	return "vi"
}
