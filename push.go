package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"sync"

	"toso/notifications"
	"toso/store"
)

// PushConfig is how announcements are pushed (see notifications).
type PushConfig struct {
	Mode            string // auto, fcm, log or off
	CredentialsFile string
	Endpoint        string
	ProjectID       string
}

func (p *PushConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&p.Mode, "push", notifications.ModeAuto, "push notifications: auto (fcm when credentials are set, else log), fcm, log or off")
	fs.StringVar(&p.CredentialsFile, "fcm-credentials", "", "Firebase service-account JSON file")
	fs.StringVar(&p.Endpoint, "fcm-endpoint", "", "FCM endpoint override, e.g. http://127.0.0.1:9099/v1 for a local fake")
	fs.StringVar(&p.ProjectID, "fcm-project", "", "Firebase project id; read from the credentials when empty")
}

func (p *PushConfig) validate() error {
	if !notifications.ValidMode(p.Mode) {
		return fmt.Errorf("%w: -push %q: want auto, fcm, log or off", errUsage, p.Mode)
	}
	if p.Mode == notifications.ModeFCM && p.CredentialsFile == "" && (p.Endpoint == "" || p.ProjectID == "") {
		return fmt.Errorf("%w: -push fcm needs -fcm-credentials, or -fcm-endpoint with -fcm-project", errUsage)
	}
	return nil
}

// pushWorker is the notifications worker as serve runs it.
type pushWorker struct {
	*notifications.Worker
	log *slog.Logger
}

func newPush(ctx context.Context, cfg PushConfig, st *store.Store, log *slog.Logger) (*pushWorker, error) {
	sender, mode, err := notifications.NewSender(ctx, notifications.SenderConfig{
		Mode: cfg.Mode, CredentialsFile: cfg.CredentialsFile, Endpoint: cfg.Endpoint, ProjectID: cfg.ProjectID,
	}, log)
	if err != nil {
		return nil, err
	}
	log.Info("push notifications", "mode", mode)
	return &pushWorker{Worker: notifications.NewWorker(st, sender, log, notifications.Config{}), log: log}, nil
}

// start runs the worker until ctx ends; the function it returns stops it
// and waits for its last send to be recorded.
func (p *pushWorker) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Run(ctx); err != nil {
			p.log.Error("push worker stopped", "err", err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
