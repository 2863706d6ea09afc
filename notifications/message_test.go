package notifications

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"

	"toso/store"
)

func TestMessage(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	dur := func(d time.Duration) *time.Duration { return &d }
	long := strings.Repeat("ă", 300)
	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	tests := []struct {
		name string
		b    store.PushBatch
		want *messaging.MulticastMessage
	}{
		{
			name: "urgent, TTL truncated to seconds",
			b:    store.PushBatch{AnnouncementID: 7, Title: "VNeID", Body: "Thứ Hai", Priority: store.PriorityUrgent, ExpiresAt: now.Add(90*time.Minute + 999*time.Millisecond)},
			want: &messaging.MulticastMessage{
				//lint:ignore SA1019 what Message sends (registration tokens)
				Tokens:       []string{"a", "b"},
				Data:         map[string]string{"type": "announcement", "announcement_id": "7", "priority": "urgent", "sync": "user"},
				Notification: &messaging.Notification{Title: "VNeID", Body: "Thứ Hai"},
				Android: &messaging.AndroidConfig{
					CollapseKey: "announcement-7", Priority: "high", TTL: dur(90 * time.Minute),
					Notification: &messaging.AndroidNotification{Tag: "announcement-7", ChannelID: "urgent", Priority: messaging.PriorityMax},
				},
				APNS: &messaging.APNSConfig{
					Headers: map[string]string{"apns-priority": "10", "apns-push-type": "alert", "apns-collapse-id": "announcement-7",
						"apns-expiration": unix(now.Add(90 * time.Minute))},
					Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
						Alert: &messaging.ApsAlert{Title: "VNeID", Body: "Thứ Hai"}, ContentAvailable: true, ThreadID: "announcements"}},
				},
			},
		},
		{
			name: "normal, TTL capped at 28 days, long body shortened",
			b:    store.PushBatch{AnnouncementID: 8, Title: "Tài liệu", Body: long, Priority: store.PriorityNormal, ExpiresAt: now.Add(90 * 24 * time.Hour)},
			want: &messaging.MulticastMessage{
				//lint:ignore SA1019 what Message sends (registration tokens)
				Tokens:       []string{"a", "b"},
				Data:         map[string]string{"type": "announcement", "announcement_id": "8", "priority": "normal", "sync": "user"},
				Notification: &messaging.Notification{Title: "Tài liệu", Body: strings.Repeat("ă", 239) + "…"},
				Android: &messaging.AndroidConfig{
					CollapseKey: "announcement-8", Priority: "normal", TTL: dur(MaxTTL),
					Notification: &messaging.AndroidNotification{Tag: "announcement-8", ChannelID: "announcements", Priority: messaging.PriorityDefault},
				},
				APNS: &messaging.APNSConfig{
					Headers: map[string]string{"apns-priority": "5", "apns-push-type": "alert", "apns-collapse-id": "announcement-8",
						"apns-expiration": unix(now.Add(MaxTTL))},
					Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
						Alert: &messaging.ApsAlert{Title: "Tài liệu", Body: strings.Repeat("ă", 239) + "…"}, ContentAvailable: true, ThreadID: "announcements"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Message(tt.b, []string{"a", "b"}, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Message (-want +got):\n%s", diff)
			}
		})
	}
}
