package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"text/tabwriter"
	"time"

	"toso/demo"
	"toso/store"
)

// runDemo serves a demo database (./demo.db unless --db or TOSO_DB say
// otherwise, which may be a PostgreSQL URL), generating the demo province
// on first use and reusing it afterwards.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe("demo", args, getenv, stderr, "demo.db")
	if err != nil {
		return err
	}
	log := cfg.logger(stderr)
	st, k, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	p, created, err := demo.Ensure(ctx, st, demo.Options{Log: log, Activity: demo.Activity})
	if err != nil {
		return fmt.Errorf("demo %s: %w", store.Redacted(cfg.DB), err)
	}
	if created {
		log.Info("demo database created", "db", store.Redacted(cfg.DB), "teams", p.Teams(), "users", p.Users,
			"took", time.Since(start).Round(time.Millisecond).String())
	} else {
		log.Info("reusing the demo database", "db", store.Redacted(cfg.DB))
	}
	return serve(ctx, cfg, st, k, log, func(addr net.Addr) { printAccounts(stdout, "http://"+addr.String(), store.Redacted(cfg.DB)) })
}

// printAccounts prints where the demo listens and how to log in.
func printAccounts(w io.Writer, url, db string) {
	fmt.Fprintf(w, "Toso demo: %s (database %s)\n", url, db)
	fmt.Fprintf(w, "Member web app: %s/app/ (team lead or member below)\n\n", url)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tPHONE\tPASSWORD\tNAME\tSCOPE")
	for _, a := range demo.Accounts() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Role, a.Phone, demo.Password, a.Name, a.Scope)
	}
	tw.Flush()
	fmt.Fprintln(w)
}
