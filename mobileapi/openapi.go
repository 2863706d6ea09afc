package mobileapi

import (
	_ "embed"

	"github.com/gofiber/fiber/v3"
)

// openapiJSON is the OpenAPI 3.1 description of every route, written by
// hand and served as is. server/openapi_test.go sends real requests and
// checks both them and the answers against it, and checks that every route
// of the app is described and every description is a route: a handler
// change that the document does not follow fails the tests.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns a copy of the API description.
func OpenAPI() []byte { return append([]byte(nil), openapiJSON...) }

// openapi handles GET /openapi.json.
func (a *API) openapi(c fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(openapiJSON)
}
