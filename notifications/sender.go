package notifications

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// Sender sends one message to up to 500 tokens and reports each token's
// result in order. *messaging.Client satisfies it.
type Sender interface {
	SendEachForMulticast(ctx context.Context, m *messaging.MulticastMessage) (*messaging.BatchResponse, error)
}

// Push modes.
const (
	ModeAuto = "auto" // fcm when credentials are configured, else log
	ModeFCM  = "fcm"
	ModeLog  = "log"
	ModeOff  = "off"
)

// SenderConfig chooses and configures the sender.
type SenderConfig struct {
	Mode            string // auto, fcm, log or off
	CredentialsFile string // service-account JSON (TOSO_FCM_CREDENTIALS)
	Endpoint        string // e.g. http://127.0.0.1:9099/v1 for a local fake FCM (TOSO_FCM_ENDPOINT)
	ProjectID       string // required without credentials; else read from them
}

// ValidMode reports whether mode is one of the push modes.
func ValidMode(mode string) bool {
	switch mode {
	case ModeAuto, ModeFCM, ModeLog, ModeOff:
		return true
	}
	return false
}

// NewSender builds the sender for the configured mode and returns it with
// the mode chosen (auto resolved). Mode off gives a nil Sender.
func NewSender(ctx context.Context, cfg SenderConfig, log *slog.Logger) (Sender, string, error) {
	mode := cfg.Mode
	if mode == "" || mode == ModeAuto {
		mode = ModeLog
		if cfg.CredentialsFile != "" {
			mode = ModeFCM
		}
	}
	switch mode {
	case ModeOff:
		return nil, mode, nil
	case ModeLog:
		return LogSender{Log: log}, mode, nil
	case ModeFCM:
		c, err := NewFCMClient(ctx, cfg)
		if err != nil {
			return nil, mode, err
		}
		return c, mode, nil
	}
	return nil, mode, fmt.Errorf("push mode %q: want auto, fcm, log or off", cfg.Mode)
}

// NewFCMClient is the real firebase-admin-go messaging client. Without a
// credentials file it sends unauthenticated, which only a local server
// given as Endpoint accepts.
func NewFCMClient(ctx context.Context, cfg SenderConfig) (*messaging.Client, error) {
	var opts []option.ClientOption
	switch {
	case cfg.CredentialsFile != "":
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, cfg.CredentialsFile))
	case cfg.Endpoint != "":
		opts = append(opts, option.WithoutAuthentication())
	default:
		return nil, fmt.Errorf("fcm: a service-account file (TOSO_FCM_CREDENTIALS) or an endpoint (TOSO_FCM_ENDPOINT) is required")
	}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	if cfg.CredentialsFile == "" && cfg.ProjectID == "" {
		return nil, fmt.Errorf("fcm: a project id is required without credentials")
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	c, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return c, nil
}

// LogSender logs each message instead of sending it and reports every
// token as sent: `go run . demo` works without a Firebase account.
type LogSender struct{ Log *slog.Logger }

// SendEachForMulticast logs m once and succeeds for each token.
func (l LogSender) SendEachForMulticast(ctx context.Context, m *messaging.MulticastMessage) (*messaging.BatchResponse, error) {
	//lint:ignore SA1019 registration tokens until the app registers FIDs (see Message)
	tokens := m.Tokens
	var title string
	if m.Notification != nil {
		title = m.Notification.Title
	}
	l.Log.InfoContext(ctx, "push (log mode)", "announcement_id", m.Data["announcement_id"],
		"priority", m.Data["priority"], "title", title, "tokens", len(tokens))
	br := &messaging.BatchResponse{SuccessCount: len(tokens), Responses: make([]*messaging.SendResponse, len(tokens))}
	for i := range tokens {
		br.Responses[i] = &messaging.SendResponse{Success: true, MessageID: "log-" + m.Data["announcement_id"] + "-" + strconv.Itoa(i)}
	}
	return br, nil
}
