package mobileapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// Imports take the file as the raw body (text/csv or the XLSX type) or as
// the "file" part of a multipart form. A file with problems is a 422
// import_failed whose error object lists "rows": [{row, column, reason}];
// nothing is imported then.

// ImportPaths are the routes that accept bodies above the server's normal
// limit (an official unit list with villages runs to megabytes).
func ImportPaths() []string {
	return []string{"/v1/areas/import", "/v1/users/import", "/v1/completions/import"}
}

type importCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

type areaImportResponse struct {
	Shape   string                  `json:"shape"`
	Rows    int                     `json:"rows"`
	Levels  map[string]importCounts `json:"levels"`
	Ignored []string                `json:"ignored_columns"`
}

// importAreas handles POST /v1/areas/import.
func (a *API) importAreas(c fiber.Ctx) error {
	file, err := importFile(c)
	if err != nil {
		return err
	}
	sum, err := a.store.ImportAreas(c.Context(), actor(c), file, store.ImportOptions{})
	if err != nil {
		return importProblem(err)
	}
	r := areaImportResponse{Shape: sum.Shape, Rows: sum.Rows, Levels: map[string]importCounts{}, Ignored: nonNil(sum.Ignored)}
	for level, n := range sum.Levels {
		r.Levels[level] = importCounts{Created: n.Created, Updated: n.Updated, Unchanged: n.Unchanged}
	}
	return c.JSON(r)
}

type issuedPassword struct {
	Row      int    `json:"row"`
	Phone    string `json:"phone"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

type userImportResponse struct {
	Rows      int              `json:"rows"`
	Created   map[string]int   `json:"created"`
	Passwords []issuedPassword `json:"passwords"`
	Ignored   []string         `json:"ignored_columns"`
}

// importUsers handles POST /v1/users/import. Passwords the import
// generated are in the answer, once: it is never cached.
func (a *API) importUsers(c fiber.Ctx) error {
	file, err := importFile(c)
	if err != nil {
		return err
	}
	sum, err := a.store.ImportUsers(c.Context(), actor(c), file, store.ImportOptions{})
	if err != nil {
		return importProblem(err)
	}
	r := userImportResponse{Rows: sum.Rows, Created: map[string]int{}, Passwords: []issuedPassword{}, Ignored: nonNil(sum.Ignored)}
	for role, n := range sum.Created {
		r.Created[string(role)] = n
	}
	for _, p := range sum.Passwords {
		r.Passwords = append(r.Passwords, issuedPassword{Row: p.Row, Phone: p.Phone, Name: p.Name, Password: p.Password})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(r)
}

type completionImportResponse struct {
	Rows      int      `json:"rows"`
	Created   int      `json:"created"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Ignored   []string `json:"ignored_columns"`
}

// importCompletions handles POST /v1/completions/import: Bình dân học vụ số
// completions from the platform's export; ID numbers become citizen refs.
func (a *API) importCompletions(c fiber.Ctx) error {
	file, err := importFile(c)
	if err != nil {
		return err
	}
	sum, err := a.store.ImportCompletions(c.Context(), actor(c), file, store.ImportOptions{})
	if err != nil {
		return importProblem(err)
	}
	return c.JSON(completionImportResponse{Rows: sum.Rows, Created: sum.Created, Updated: sum.Updated,
		Unchanged: sum.Unchanged, Ignored: nonNil(sum.Ignored)})
}

// importMediaType reports whether a raw body of this type may be a file
// to import. Browsers label a CSV upload text/csv, application/vnd.ms-excel
// or application/octet-stream.
func importMediaType(mt string) bool {
	switch strings.ToLower(mt) {
	case "text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return true
	}
	return false
}

// importFile is the uploaded file; the store tells CSV from XLSX by content.
// The reader is only valid during the handler.
func importFile(c fiber.Ctx) (io.Reader, error) {
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		// Decoding would be capped at the normal body limit: send files as they are.
		return nil, problem(fiber.StatusUnsupportedMediaType, "unsupported_media_type")
	}
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	switch {
	case err == nil && mt == "multipart/form-data":
		fh, err := c.FormFile("file")
		if err != nil {
			return nil, fieldProblem("file", "required")
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(b), nil
	case err == nil && importMediaType(mt):
		return bytes.NewReader(c.BodyRaw()), nil
	}
	return nil, problem(fiber.StatusUnsupportedMediaType, "unsupported_media_type")
}

// importProblem turns a rejected file into a 422 listing its rows.
func importProblem(err error) error {
	var ie *store.ImportError
	if !errors.As(err, &ie) {
		return err
	}
	en, vi := make([]importRow, len(ie.Rows)), make([]importRow, len(ie.Rows))
	for i, r := range ie.Rows {
		en[i] = importRow{Row: r.Row, Column: r.Column, Reason: r.Reason}
		vi[i] = importRow{Row: r.Row, Column: r.Column, Reason: r.ReasonVI}
	}
	return &Problem{Status: fiber.StatusUnprocessableEntity, Code: "import_failed",
		Extra:   map[string]any{"rows": en, "truncated": ie.Truncated},
		ExtraVI: map[string]any{"rows": vi, "truncated": ie.Truncated}}
}

// importRow is one problem of a rejected file, in the response's language.
type importRow struct {
	Row    int    `json:"row"`    // as numbered in the file; the header is row 1
	Column string `json:"column"` // the header as written in the file, "" for the whole row
	Reason string `json:"reason"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
