package mobileapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"

	"toso/forms"
	"toso/store"
)

type periodicQuery struct {
	AreaID int64  `query:"area_id" validate:"required,gt=0"`
	Period string `query:"period" validate:"required,max=7"`
}

// periodBad is the reason a period is refused, in the caller's language.
func periodBad(lang string) string {
	if lang == "en" {
		return "must be a year (2026), a quarter (2026-Q4) or a month (2026-11)"
	}
	return "phải là năm (2026), quý (2026-Q4) hoặc tháng (2026-11)"
}

// periodicXLSX handles GET /v1/reports/periodic.xlsx: the periodic report
// form of an area for a month, a quarter or a year (coordinators and
// admins), in the caller's language. It reads the upward report three
// times (the period, the one before, cumulated), so it has a deadline.
func (a *API) periodicXLSX(c fiber.Ctx) error {
	var q periodicQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	if _, _, _, err := store.ParsePeriod(q.Period); err != nil {
		return fieldProblem("period", periodBad(Lang(c)))
	}
	ctx, cancel := context.WithTimeout(c.Context(), exportTimeout)
	defer cancel()
	p, err := a.store.Periodic(ctx, actor(c), q.AreaID, q.Period)
	if errors.Is(err, store.ErrInvalid) {
		return fieldProblem("period", periodBad(Lang(c)))
	} else if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := forms.WritePeriodicXLSX(&buf, p, forms.LangOf(Lang(c))); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", forms.PeriodicFileName(p)))
	return c.Send(buf.Bytes())
}
