package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"toso/store"
)

// runGenerateLogs makes a reports benchmark province in a new database,
// with raw logs written by batched SQL (not through push): toso generate-logs
// -db province.db -logs 5000000 (admin 0900000001, coordinator of the first
// commune 0900000002, password "password-generated").
func runGenerateLogs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := newFlagSet("generate-logs", "", stderr)
	fs.StringVar(&cfg.DB, "db", "toso-province.db", "database file to create")
	cfg.citizenKeyFlag(fs)
	var g store.GenerateOptions
	fs.IntVar(&g.Logs, "logs", 5_000_000, "assistance logs over 2025")
	fs.IntVar(&g.Communes, "communes", 100, "current communes")
	fs.IntVar(&g.VillagesPerCommune, "villages", 50, "villages (and teams) per commune")
	fs.IntVar(&g.MergedCommunes, "merged", 10, "communes merged on 2025-07-01 into the first ones")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := cfg.validateSecrets(); err != nil {
		return err
	}
	g.Seed = *seed
	st, _, err := openStore(ctx, cfg, cfg.logger(stderr), true)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	err = st.Generate(ctx, g, func(stage string, done, total int) {
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(stderr, "\r%-9s [%s%s] %3d%% %s", stage, strings.Repeat("#", n), strings.Repeat("-", width-n),
			100*done/max(total, 1), time.Since(start).Round(time.Second))
		if done == total {
			fmt.Fprintln(stderr)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %s in %s\n", store.Redacted(cfg.DB), time.Since(start).Round(time.Second))
	return nil
}
