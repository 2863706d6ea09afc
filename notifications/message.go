// Package notifications delivers announcements as push notifications
// through Firebase Cloud Messaging: one worker drains the store's push
// outbox, classifies every per-token result, retries what is worth
// retrying and invalidates dead tokens. Sender is the one interface.
package notifications

import (
	"strconv"
	"time"
	"unicode/utf8"

	"firebase.google.com/go/v4/messaging"

	"toso/store"
)

// MaxTTL is the longest time FCM keeps a message for an offline device.
const MaxTTL = 28 * 24 * time.Hour

// previewRunes caps the notification body: the full text reaches the
// phone through sync, and FCM refuses payloads over 4,096 bytes.
const previewRunes = 240

// Message builds the push for one announcement to tokens at now. It is a
// pure function: the tests compare its result whole.
//
// The data payload carries the announcement id and a "sync" hint (the app
// pulls its inbox on receipt). Urgent announcements go with Android
// priority high (wakes a dozing phone) and APNs priority 10; one collapse
// key per announcement, so a retried push replaces rather than repeats.
// The TTL runs to the expiry, truncated to whole seconds (the SDK would
// otherwise send nanoseconds) and capped at 28 days.
func Message(b store.PushBatch, tokens []string, now time.Time) *messaging.MulticastMessage {
	ttl := min(max(b.ExpiresAt.Sub(now), 0), MaxTTL).Truncate(time.Second)
	id := strconv.FormatInt(b.AnnouncementID, 10)
	collapse := "announcement-" + id

	androidPriority, notifPriority, apnsPriority, channel := "normal", messaging.PriorityDefault, "5", "announcements"
	switch b.Priority {
	case store.PriorityHigh:
		notifPriority, apnsPriority = messaging.PriorityHigh, "10"
	case store.PriorityUrgent:
		androidPriority, notifPriority, apnsPriority, channel = "high", messaging.PriorityMax, "10", "urgent"
	}
	body := preview(b.Body)
	return &messaging.MulticastMessage{
		// Registration tokens, which is what the app registers today.
		// firebase-admin-go v4.21 deprecates Tokens for Fids (Firebase
		// Installation IDs), but an FID is another identifier that the app
		// must opt into and register instead: a registration token sent as
		// an FID is never delivered (firebase-admin-dotnet#530). Moving
		// needs the app to register FIDs first (docs/sync.md, push tokens).
		//lint:ignore SA1019 registration tokens until the app registers FIDs (see above)
		Tokens: tokens,
		Data: map[string]string{
			"type":            "announcement",
			"announcement_id": id,
			"priority":        b.Priority,
			"sync":            "user",
		},
		Notification: &messaging.Notification{Title: b.Title, Body: body},
		Android: &messaging.AndroidConfig{
			CollapseKey: collapse,
			Priority:    androidPriority,
			TTL:         &ttl,
			Notification: &messaging.AndroidNotification{
				Tag:       collapse,
				ChannelID: channel,
				Priority:  notifPriority,
			},
		},
		APNS: &messaging.APNSConfig{
			Headers: map[string]string{
				"apns-priority":    apnsPriority,
				"apns-push-type":   "alert",
				"apns-collapse-id": collapse,
				"apns-expiration":  strconv.FormatInt(now.Add(ttl).Unix(), 10),
			},
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
				Alert:            &messaging.ApsAlert{Title: b.Title, Body: body},
				ContentAvailable: true,
				ThreadID:         "announcements",
			}},
		},
	}
}

// preview shortens s to previewRunes runes, ending with an ellipsis.
func preview(s string) string {
	if utf8.RuneCountInString(s) <= previewRunes {
		return s
	}
	r := []rune(s)
	return string(r[:previewRunes-1]) + "…"
}
