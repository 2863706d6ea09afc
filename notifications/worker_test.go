package notifications

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"toso/store"
)

func newTestWorker(f *fixture, fcm *fakeFCM, t *testing.T, cfg Config) *Worker {
	cfg.Now = f.clock.Now
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.5 }
	}
	return NewWorker(f.st, fcm.client(t), discardLog(), cfg)
}

func step(t *testing.T, w *Worker) int {
	t.Helper()
	n, err := w.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWorkerSendsEachTokenOnce(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	tokens := f.addMembers(t, 3, 4, f.clock.Now())
	an := f.publish(t, store.PriorityUrgent, f.clock.Now().Add(48*time.Hour+1500*time.Millisecond))
	w := newTestWorker(f, fcm, t, Config{})

	if got := step(t, w); got != 4 {
		t.Errorf("claimed %d rows, want 4", got)
	}
	if got := step(t, w); got != 0 {
		t.Errorf("second round claimed %d rows, want 0", got)
	}
	_, seen, accepted := fcm.counts()
	for _, tok := range tokens {
		if seen[tok] != 1 || accepted[tok] != 1 {
			t.Errorf("token %s: seen %d, accepted %d; want 1 and 1", tok, seen[tok], accepted[tok])
		}
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: 4}, f.states(t, an.ID)); diff != "" {
		t.Errorf("outbox states (-want +got):\n%s", diff)
	}
	rows, _ := f.st.PushOutbox(context.Background(), an.ID)
	if rows[0].MessageID == "" {
		t.Errorf("message id not recorded: %+v", rows[0])
	}
	if got := metricValue(w.metrics.sent); got != 4 {
		t.Errorf("toso_push_sent_total = %v, want 4", got)
	}

	// What went over the wire: TTL in whole seconds, data, priority.
	var msg struct {
		Data    map[string]string `json:"data"`
		Android struct {
			Priority    string `json:"priority"`
			TTL         string `json:"ttl"`
			CollapseKey string `json:"collapse_key"`
		} `json:"android"`
	}
	if err := json.Unmarshal(fcm.messages[0], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Android.TTL != "172801s" || msg.Android.Priority != "high" || msg.Data["sync"] != "user" ||
		msg.Data["announcement_id"] != "1" || msg.Android.CollapseKey != "announcement-1" {
		t.Errorf("got message %s, want ttl 172801s, priority high, sync hint and announcement 1", fcm.messages[0])
	}
}

func TestWorkerClassifiesFailures(t *testing.T) {
	tests := []struct {
		name      string
		reply     fcmReply
		wantState string
		wantClass string
		tokenKept bool
	}{
		{"unregistered", fcmError(404, "NOT_FOUND", "UNREGISTERED"), store.PushInvalid, ClassUnregistered, false},
		{"sender mismatch", fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), store.PushInvalid, ClassSenderIDMismatch, false},
		{"bad payload", fcmError(400, "INVALID_ARGUMENT", ""), store.PushFailed, ClassBadPayload, true},
		{"invalid argument", fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), store.PushFailed, ClassInvalidArgument, true},
		{"internal", fcmError(500, "INTERNAL", "INTERNAL"), store.PushPending, ClassInternal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			fcm := newFakeFCM(t)
			tokens := f.addMembers(t, 2, 2, f.clock.Now())
			bad := tokens[0]
			fcm.setReply(func(tok string, _ int) fcmReply {
				if tok == bad {
					return tt.reply
				}
				return okReply
			})
			an := f.publish(t, store.PriorityNormal, time.Time{})
			w := newTestWorker(f, fcm, t, Config{})
			step(t, w)

			rows, _ := f.st.PushOutbox(context.Background(), an.ID)
			got := map[string][2]string{}
			for _, r := range rows {
				got[r.Token] = [2]string{r.State, r.LastError}
			}
			want := map[string][2]string{bad: {tt.wantState, tt.wantClass}, tokens[1]: {store.PushSent, ""}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			// The token is cleared at once, or kept: a new announcement
			// reaches one device or two.
			count, err := f.st.PreviewAudience(context.Background(), f.admin, store.Audience{AreaIDs: []int64{f.area.ID}})
			if err != nil {
				t.Fatal(err)
			}
			wantDevices := 1
			if tt.tokenKept {
				wantDevices = 2
			}
			if count.Devices != wantDevices {
				t.Errorf("devices after %s: got %d, want %d", tt.name, count.Devices, wantDevices)
			}
			if got := metricValue(w.metrics.failed.WithLabelValues(tt.wantClass)); got != 1 {
				t.Errorf("toso_push_failed_total{class=%s} = %v, want 1", tt.wantClass, got)
			}
			if got, want := metricValue(w.metrics.invalidated), float64(2-wantDevices); got != want {
				t.Errorf("toso_push_tokens_invalidated_total = %v, want %v", got, want)
			}
		})
	}
}

func TestWorkerQuotaPausesSender(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	tokens := f.addMembers(t, 3, 3, f.clock.Now())
	var throttled atomic.Bool
	throttled.Store(true)
	fcm.setReply(func(tok string, _ int) fcmReply {
		if throttled.Load() && tok == tokens[1] {
			r := fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
			r.header = map[string]string{"Retry-After": "300"}
			return r
		}
		return okReply
	})
	an := f.publish(t, store.PriorityNormal, time.Time{})
	w := newTestWorker(f, fcm, t, Config{})
	start := f.clock.Now()
	step(t, w)

	rows, _ := f.st.PushOutbox(context.Background(), an.ID)
	for _, r := range rows {
		if r.Token != tokens[1] {
			continue
		}
		if r.State != store.PushPending || r.LastError != ClassQuota || r.NextAttemptAt.Before(start.Add(300*time.Second)) {
			t.Errorf("throttled row: got %s/%s next %s, want pending/%s no sooner than %s",
				r.State, r.LastError, r.NextAttemptAt, ClassQuota, start.Add(300*time.Second))
		}
	}
	if want := start.Add(300 * time.Second); !w.PausedUntil().Equal(want) {
		t.Errorf("paused until %s, want %s", w.PausedUntil(), want)
	}

	// While paused nothing is sent, even a newly published announcement.
	throttled.Store(false)
	f.publish(t, store.PriorityNormal, time.Time{})
	total, _, _ := fcm.counts()
	f.clock.Advance(299 * time.Second)
	if got := step(t, w); got != 0 {
		t.Errorf("paused worker claimed %d rows, want 0", got)
	}
	if after, _, _ := fcm.counts(); after != total {
		t.Errorf("paused worker sent %d requests, want 0", after-total)
	}
	f.clock.Advance(time.Second)
	if got := step(t, w); got != 4 {
		t.Errorf("after the pause: claimed %d rows, want 4 (1 retried + 3 new)", got)
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: 3}, f.states(t, an.ID)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	_, _, accepted := fcm.counts()
	if accepted[tokens[1]] != 2 { // once per announcement
		t.Errorf("throttled token accepted %d times, want 2", accepted[tokens[1]])
	}
}

func TestWorkerBacksOffThenSucceeds(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	f.addMembers(t, 1, 1, f.clock.Now())
	fcm.setReply(func(_ string, seen int) fcmReply {
		if seen < 2 {
			return fcmError(500, "INTERNAL", "INTERNAL")
		}
		return okReply
	})
	an := f.publish(t, store.PriorityNormal, time.Time{})
	w := newTestWorker(f, fcm, t, Config{BaseBackoff: 10 * time.Second})
	start := f.clock.Now()
	step(t, w)
	// Jitter 0.5: first retry after 10 s × (1/2 + 0.5/2) = 7.5 s, second after 15 s.
	for _, wait := range []time.Duration{7500 * time.Millisecond, 15 * time.Second} {
		rows, _ := f.st.PushOutbox(context.Background(), an.ID)
		if got, want := rows[0].NextAttemptAt, f.clock.Now().Add(wait); rows[0].State != store.PushPending || !got.Equal(want) {
			t.Fatalf("got %s next %s, want pending next %s", rows[0].State, got, want)
		}
		f.clock.Advance(wait - time.Millisecond)
		if got := step(t, w); got != 0 {
			t.Fatalf("claimed %d rows before the backoff ended, want 0", got)
		}
		f.clock.Advance(time.Millisecond)
		if got := step(t, w); got != 1 {
			t.Fatalf("claimed %d rows after the backoff, want 1", got)
		}
	}
	rows, _ := f.st.PushOutbox(context.Background(), an.ID)
	if rows[0].State != store.PushSent || rows[0].Attempts != 3 {
		t.Errorf("got %s after %d attempts, want sent after 3 (%s elapsed)", rows[0].State, rows[0].Attempts, f.clock.Now().Sub(start))
	}
}

func TestWorkerGivesUp(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		expires     time.Duration
		want        string
	}{
		{"max attempts", 2, 30 * 24 * time.Hour, store.PushGaveUp},
		{"expiry", 100, 20 * time.Second, store.PushExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			fcm := newFakeFCM(t)
			f.addMembers(t, 1, 1, f.clock.Now())
			fcm.setReply(func(string, int) fcmReply { return fcmError(500, "INTERNAL", "INTERNAL") })
			an := f.publish(t, store.PriorityNormal, f.clock.Now().Add(tt.expires))
			w := newTestWorker(f, fcm, t, Config{MaxAttempts: tt.maxAttempts, BaseBackoff: 10 * time.Second})
			for range 5 {
				step(t, w)
				f.clock.Advance(time.Minute)
			}
			if diff := cmp.Diff(map[string]int{tt.want: 1}, f.states(t, an.ID)); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
		})
	}
}

// A worker that claimed rows and died never recorded them: they are due
// again when the lease ends, and sent then, once.
func TestAbandonedLeaseIsRetried(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	tokens := f.addMembers(t, 5, 5, f.clock.Now())
	an := f.publish(t, store.PriorityNormal, time.Time{})
	lease := 90 * time.Second
	if _, err := f.st.ClaimPush(context.Background(), f.clock.Now(), lease, 3); err != nil {
		t.Fatal(err)
	}
	w := newTestWorker(f, fcm, t, Config{Lease: lease, SendTimeout: 10 * time.Second})
	if got := step(t, w); got != 2 {
		t.Errorf("claimed %d rows while 3 are leased, want 2", got)
	}
	f.clock.Advance(lease)
	if got := step(t, w); got != 3 {
		t.Errorf("claimed %d rows after the lease, want 3", got)
	}
	_, seen, _ := fcm.counts()
	for _, tok := range tokens {
		if seen[tok] != 1 {
			t.Errorf("token %s seen %d times, want 1", tok, seen[tok])
		}
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: 5}, f.states(t, an.ID)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// Stopping the worker mid-queue and starting a new one sends every row
// exactly once, as the fake server sees it.
func TestRestartMidQueue(t *testing.T) {
	f := newFixture(t, time.Now)
	fcm := newFakeFCM(t)
	tokens := f.addMembers(t, 600, 600, time.Now())
	an := f.publish(t, store.PriorityHigh, time.Time{})

	ctx, cancel := context.WithCancel(context.Background())
	fcm.onReq = func(total int) {
		if total == 150 { // mid-way through the second call of 100
			cancel()
		}
	}
	w1 := NewWorker(f.st, fcm.client(t), discardLog(), Config{BatchSize: 100, Concurrency: 2, PollInterval: 10 * time.Millisecond})
	if err := w1.Run(ctx); err != nil {
		t.Fatal(err)
	}
	stopped, _, _ := fcm.counts()
	if stopped >= len(tokens) {
		t.Fatalf("the first worker sent all %d before stopping: the test did not stop it mid-queue", stopped)
	}
	states := f.states(t, an.ID)
	if states[store.PushSending] != 0 || states[store.PushSent] != stopped {
		t.Fatalf("after stop: states %v with %d requests seen, want no sending row and every request recorded", states, stopped)
	}

	fcm.onReq = nil
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	w2 := NewWorker(f.st, fcm.client(t), discardLog(), Config{BatchSize: 100, Concurrency: 2, PollInterval: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- w2.Run(ctx2) }()
	for {
		q, err := f.st.PushQueueStats(context.Background(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if q.Depth == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	total, seen, _ := fcm.counts()
	if total != len(tokens) {
		t.Errorf("fake FCM saw %d requests, want %d", total, len(tokens))
	}
	for _, tok := range tokens {
		if seen[tok] != 1 {
			t.Errorf("token %s seen %d times, want 1", tok, seen[tok])
		}
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: len(tokens)}, f.states(t, an.ID)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// metricValue reads a counter's or gauge's current value.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// Calls not yet started when a 429 pauses the sender go back to the queue,
// due when the pause ends, without counting an attempt.
func TestQuotaReleasesUnstartedCalls(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	f.addMembers(t, 1, 1, f.clock.Now())
	fcm.setReply(func(_ string, seen int) fcmReply {
		if seen == 0 {
			r := fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
			r.header = map[string]string{"Retry-After": "120"}
			return r
		}
		return okReply
	})
	first, second := f.publish(t, store.PriorityNormal, time.Time{}), f.publish(t, store.PriorityNormal, time.Time{})
	w := newTestWorker(f, fcm, t, Config{BatchSize: 2, Concurrency: 1})
	start := f.clock.Now()
	if got := step(t, w); got != 2 {
		t.Fatalf("claimed %d rows, want 2 (one per announcement)", got)
	}
	if total, _, _ := fcm.counts(); total != 1 {
		t.Errorf("fake FCM saw %d requests, want 1 (the second call held back)", total)
	}
	for _, id := range []int64{first.ID, second.ID} {
		rows, _ := f.st.PushOutbox(context.Background(), id)
		r := rows[0]
		if r.State != store.PushPending || r.Attempts != 0 || !r.NextAttemptAt.Equal(start.Add(120*time.Second)) {
			t.Errorf("announcement %d: got %s, %d attempts, next %s; want pending, 0, %s",
				id, r.State, r.Attempts, r.NextAttemptAt, start.Add(120*time.Second))
		}
	}
}

func TestChunks(t *testing.T) {
	jobs := func(ids ...int64) []store.PushJob {
		var out []store.PushJob
		for _, id := range ids {
			out = append(out, store.PushJob{ID: id})
		}
		return out
	}
	in := []store.PushBatch{{AnnouncementID: 1, Jobs: jobs(1, 2, 3, 4, 5)}, {AnnouncementID: 2, Jobs: jobs(6)}}
	want := []store.PushBatch{
		{AnnouncementID: 1, Jobs: jobs(1, 2)}, {AnnouncementID: 1, Jobs: jobs(3, 4)}, {AnnouncementID: 1, Jobs: jobs(5)},
		{AnnouncementID: 2, Jobs: jobs(6)},
	}
	if diff := cmp.Diff(want, chunks(in, 2)); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}
