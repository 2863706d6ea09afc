package notifications

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
)

// action is what the worker does with a token after a failed send.
type action int

const (
	actInvalidate action = iota // the token is dead: clear it, close the row
	actFail                     // the message was refused: close the row, keep the token
	actQuota                    // 429: retry no sooner than Retry-After, pause the sender
	actBackoff                  // transient: exponential backoff with jitter
)

// Error classes, as recorded in push_outbox.last_error and the
// toso_push_failed_total{class} metric.
const (
	ClassUnregistered     = "unregistered"
	ClassSenderIDMismatch = "sender_id_mismatch"
	ClassBadPayload       = "bad_payload"      // INVALID_ARGUMENT without an FCM error code: our message
	ClassInvalidArgument  = "invalid_argument" // FCM's INVALID_ARGUMENT (often a malformed token)
	ClassThirdPartyAuth   = "third_party_auth" // APNs/web push credentials
	ClassQuota            = "quota_exceeded"
	ClassUnavailable      = "unavailable"
	ClassInternal         = "internal"
	ClassTimeout          = "timeout"
	ClassAuth             = "auth" // our own credentials were refused
	ClassUnknown          = "unknown"
)

// classification of one per-token error.
type classification struct {
	class      string
	act        action
	retryAfter time.Duration // actQuota: the server's Retry-After, 0 if none
}

// classify looks at err as the SDK returned it: the messaging.Is* helpers
// use a type assertion, so this must run before anything wraps err.
func classify(err error, now time.Time) classification {
	switch {
	case messaging.IsUnregistered(err):
		return classification{class: ClassUnregistered, act: actInvalidate}
	case messaging.IsSenderIDMismatch(err):
		return classification{class: ClassSenderIDMismatch, act: actInvalidate}
	case messaging.IsInvalidArgument(err):
		return classification{class: ClassInvalidArgument, act: actFail}
	case errorutils.IsInvalidArgument(err):
		return classification{class: ClassBadPayload, act: actFail}
	case messaging.IsThirdPartyAuthError(err):
		return classification{class: ClassThirdPartyAuth, act: actFail}
	case messaging.IsQuotaExceeded(err), errorutils.IsResourceExhausted(err), httpStatus(err) == http.StatusTooManyRequests:
		return classification{class: ClassQuota, act: actQuota, retryAfter: retryAfter(err, now)}
	case errorutils.IsUnauthenticated(err), errorutils.IsPermissionDenied(err):
		return classification{class: ClassAuth, act: actBackoff}
	case errorutils.IsDeadlineExceeded(err), errors.Is(err, context.DeadlineExceeded):
		return classification{class: ClassTimeout, act: actBackoff}
	case messaging.IsUnavailable(err), errorutils.IsUnavailable(err):
		return classification{class: ClassUnavailable, act: actBackoff}
	case messaging.IsInternal(err), errorutils.IsInternal(err), httpStatus(err) >= 500:
		return classification{class: ClassInternal, act: actBackoff}
	}
	return classification{class: ClassUnknown, act: actBackoff}
}

func httpStatus(err error) int {
	if r := errorutils.HTTPResponse(err); r != nil {
		return r.StatusCode
	}
	return 0
}

// retryAfter reads the Retry-After header (seconds or an HTTP date) of the
// response behind err.
func retryAfter(err error, now time.Time) time.Duration {
	r := errorutils.HTTPResponse(err)
	if r == nil {
		return 0
	}
	v := r.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
