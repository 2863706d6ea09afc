package server

import (
	"context"
	"sync"
	"time"

	"toso/store"
)

// The server's periodic jobs, each in its own write transaction, off the
// request path: the device-activity flush (what the sync handlers heard
// from phones, for the coordinators' sync health) and the campaign ranks
// sent to team leads at pull.

// jobs runs the periodic jobs until ctx ends; stop waits for them and
// then flushes the device activity one last time (shutdown).
func (s *Server) jobs(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg, first sync.WaitGroup
	every := func(name string, d time.Duration, run func(context.Context) (int, error)) {
		first.Add(1)
		wg.Go(func() {
			t := time.NewTicker(d)
			defer t.Stop()
			for ran := false; ; ran = true {
				start := time.Now()
				if n, err := run(ctx); err != nil && ctx.Err() == nil {
					s.log.Error(name, "err", err)
				} else if n > 0 {
					s.log.Debug(name, "rows", n, "took", time.Since(start))
				}
				if !ran {
					first.Done()
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	every("flush device activity", s.cfg.ActivityFlushEvery, s.store.FlushDeviceActivity)
	every("refresh campaign ranks", s.cfg.CampaignRanksEvery, s.store.RefreshCampaignRanks)
	go func() {
		first.Wait()
		select {
		case <-s.jobsRan: // an earlier Serve's jobs ran first
		default:
			close(s.jobsRan)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		// The requests are done: what they recorded goes to the database.
		fctx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer done()
		if n, err := s.store.FlushDeviceActivity(fctx); err != nil {
			s.log.Error("flush device activity at shutdown", "err", err)
		} else {
			s.log.Info("device activity flushed at shutdown", "devices", n)
		}
	}
}

// jobDefaults fills the jobs' periods.
func (c *Config) jobDefaults() {
	if c.ActivityFlushEvery == 0 {
		c.ActivityFlushEvery = store.ActivityFlushEvery
	}
	if c.CampaignRanksEvery == 0 {
		c.CampaignRanksEvery = store.CampaignRanksEvery
	}
}
