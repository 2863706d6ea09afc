package mobileapi

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"toso/forms"
	"toso/store"
)

type dailyQuery struct {
	AreaID int64  `query:"area_id" validate:"gte=0"`
	TeamID int64  `query:"team_id" validate:"gte=0"`
	Day    string `query:"day" validate:"omitempty,datetime=2006-01-02"`
}

// dailySummary handles GET /v1/reports/daily-summary: the day's summary of
// an area (coordinators, admins) or a team (team_id: its members, lead and
// coordinators) as plain text for a Zalo group, in the caller's language;
// the day defaults to today in Vietnam.
func (a *API) dailySummary(c fiber.Ctx) error {
	var q dailyQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	if (q.AreaID == 0) == (q.TeamID == 0) {
		reason := "give area_id or team_id, one of them"
		if Lang(c) == "vi" {
			reason = "cần area_id hoặc team_id (chỉ một trong hai)"
		}
		return fieldProblem("area_id", reason)
	}
	if q.Day == "" {
		q.Day = store.Today(a.now())
	}
	d, err := a.store.DailySummary(c.Context(), actor(c), store.DailyQuery{AreaID: q.AreaID, TeamID: q.TeamID, Day: q.Day})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString(forms.DailyText(d, forms.LangOf(Lang(c))))
}

// pullSummary is a team lead's daily summary for the end of a pull: the
// team's day so far, computed only on the last page (no scope has more), so
// a pull that pages costs it once. It reads one team's rows for one day (a
// handful of index seeks), never an area; any error leaves it out.
func (a *API) pullSummary(ctx context.Context, act store.Actor, res *store.PullResponse, lang string) (day, text string, ok bool) {
	if act.Role != store.RoleTeamLead || act.TeamID == 0 {
		return "", "", false
	}
	for _, sc := range res.Scopes {
		if sc.HasMore {
			return "", "", false
		}
	}
	day = store.Today(a.now())
	d, err := a.store.DailySummary(ctx, act, store.DailyQuery{TeamID: act.TeamID, Day: day})
	if err != nil {
		a.log.Warn("daily summary at pull", "team", strconv.FormatInt(act.TeamID, 10), "err", err)
		return "", "", false
	}
	return day, forms.DailyText(d, forms.LangOf(lang)), true
}
