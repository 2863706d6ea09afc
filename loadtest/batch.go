package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"toso/phone"
)

var batchServices = []string{"vneid_l2", "vneid_l2", "vneid_l2", "payment_account", "smartphone_basics",
	"public_service_account", "ehealth", "cashless_payment"}

var batchBarriers = []string{"no_smartphone", "sim_not_own_name", "elderly_or_disabled", "data_mismatch"}

// queueBatch records a morning's work in the phone's outbox: a training
// session held yesterday (create, then the held patch with counts), two
// attendees, and assistance logs for the rest of the n mutations.
func queueBatch(ctx context.Context, c *phone.Client, teamID int64, n int, rng *rand.Rand) error {
	now := time.Now().UTC()
	q := 0
	if n >= 5 {
		sid := uuid.NewString()
		at := now.Add(-20 * time.Hour).Format(time.RFC3339)
		if _, err := c.Create(ctx, "training_sessions", sid, map[string]any{"team_id": teamID, "status": "planned",
			"place": "Nhà văn hóa thôn", "topics": []string{"binh_dan_hoc_vu_so"}, "scheduled_at": at}, ""); err != nil {
			return err
		}
		if _, err := c.Patch(ctx, "training_sessions", sid, 0, map[string]any{"status": "held", "held_at": at,
			"attendees": 20 + rng.IntN(20), "women": 10 + rng.IntN(8), "minority": rng.IntN(6), "elderly": rng.IntN(8)}, ""); err != nil {
			return err
		}
		for k := range 2 {
			if _, err := c.Create(ctx, "session_attendees", uuid.NewString(), map[string]any{"session_id": sid,
				"name": fmt.Sprintf("Người tham gia %d", k+1), "consent": true, "gender": []string{"female", "male"}[k]}, ""); err != nil {
				return err
			}
		}
		q = 4
	}
	for ; q < n; q++ {
		gender := rng.IntN(2)
		year := 1950 + rng.IntN(55)
		id := fmt.Sprintf("019%d%02d%06d", (year/100-19)*2+gender, year%100, rng.IntN(1000000))
		o := map[string]any{"service": batchServices[rng.IntN(len(batchServices))], "result": "done"}
		if rng.IntN(5) == 0 {
			o["result"], o["barrier"] = "not_done", batchBarriers[rng.IntN(len(batchBarriers))]
		}
		if _, err := c.Create(ctx, "assistance_logs", uuid.NewString(), map[string]any{"team_id": teamID,
			"occurred_at":       now.Add(-time.Duration(rng.IntN(600)) * time.Minute).Format(time.RFC3339),
			"citizen_id_number": id, "gender": []string{"male", "female"}[gender], "age_band": "45_59",
			"outcomes": []map[string]any{o}}, ""); err != nil {
			return err
		}
	}
	return nil
}
