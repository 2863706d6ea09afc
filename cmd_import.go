package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"toso/store"
)

// runImport handles "toso import areas FILE", "toso import users FILE" and
// "toso import completions FILE": the whole file or nothing, row errors on
// stderr and a non-zero exit.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "toso import areas|users|completions [flags] FILE (.csv, or .xlsx)"
	if len(args) == 0 || (args[0] != "areas" && args[0] != "users" && args[0] != "completions") {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	kind := args[0]
	var cfg Config
	fs := newFlagSet("import "+kind, "FILE", stderr)
	fs.StringVar(&cfg.DB, "db", "toso.db", "database file, or postgres://user:pass@host:5432/db for PostgreSQL")
	cfg.logFlag(fs)
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	path := fs.Arg(0)
	log := cfg.logger(stderr)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := store.Open(ctx, cfg.DB, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	opt := store.ImportOptions{Progress: progressLog(log, kind, path)}
	start := time.Now()
	switch kind {
	case "areas":
		sum, err := st.ImportAreas(ctx, store.System, f, opt)
		if err != nil {
			return importFailed(stderr, path, err)
		}
		printAreaImport(stdout, path, sum, time.Since(start))
	case "users":
		sum, err := st.ImportUsers(ctx, store.System, f, opt)
		if err != nil {
			return importFailed(stderr, path, err)
		}
		printUserImport(stdout, path, sum, time.Since(start))
	case "completions":
		sum, err := st.ImportCompletions(ctx, store.System, f, opt)
		if err != nil {
			return importFailed(stderr, path, err)
		}
		fmt.Fprintf(stdout, "imported %s (%d rows) in %s: %d completions created, %d moved to an earlier day, %d unchanged\n",
			path, sum.Rows, time.Since(start).Round(time.Millisecond), sum.Created, sum.Updated, sum.Unchanged)
		printIgnored(stdout, sum.Ignored)
	}
	return nil
}

// progressLog logs an import's progress for big files, about every 10%.
func progressLog(log *slog.Logger, kind, path string) func(done, total int) {
	last := -1
	return func(done, total int) {
		if total < 1000 {
			return
		}
		if pct := done * 10 / total; pct != last {
			last = pct
			log.Info("importing", "what", kind, "file", filepath.Base(path), "done", done, "total", total)
		}
	}
}

// importFailed prints the row errors of a rejected file.
func importFailed(w io.Writer, path string, err error) error {
	var ie *store.ImportError
	if !errors.As(err, &ie) {
		return err
	}
	fmt.Fprintf(w, "%s: nothing was imported:\n", path)
	for _, r := range ie.Rows {
		if r.Column != "" {
			fmt.Fprintf(w, "  row %d, column %q: %s\n", r.Row, r.Column, r.Reason)
		} else {
			fmt.Fprintf(w, "  row %d: %s\n", r.Row, r.Reason)
		}
	}
	if ie.Truncated {
		fmt.Fprintf(w, "  … and more (only the first %d are listed)\n", store.MaxImportErrors)
	}
	return fmt.Errorf("import %s: %d row error(s)", path, len(ie.Rows))
}

func printAreaImport(w io.Writer, path string, sum *store.AreaImport, took time.Duration) {
	fmt.Fprintf(w, "imported %s (%s, %d rows) in %s\n", path, sum.Shape, sum.Rows, took.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LEVEL\tCREATED\tUPDATED\tUNCHANGED")
	for _, level := range []string{"province", "district", "commune", "village", "residential_group"} {
		if c, ok := sum.Levels[level]; ok {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", level, c.Created, c.Updated, c.Unchanged)
		}
	}
	tw.Flush()
	printIgnored(w, sum.Ignored)
}

func printUserImport(w io.Writer, path string, sum *store.UserImport, took time.Duration) {
	fmt.Fprintf(w, "imported %s (%d rows) in %s\n", path, sum.Rows, took.Round(time.Millisecond))
	roles := make([]string, 0, len(sum.Created))
	for r := range sum.Created {
		roles = append(roles, string(r))
	}
	slices.Sort(roles)
	for _, r := range roles {
		fmt.Fprintf(w, "  %s: %d created\n", r, sum.Created[store.Role(r)])
	}
	printIgnored(w, sum.Ignored)
	if len(sum.Passwords) > 0 {
		fmt.Fprintf(w, "\ngenerated passwords (shown once; hand them out and ask for a change):\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ROW\tPHONE\tNAME\tPASSWORD")
		for _, p := range sum.Passwords {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", p.Row, p.Phone, p.Name, p.Password)
		}
		tw.Flush()
	}
}

func printIgnored(w io.Writer, ignored []string) {
	if len(ignored) > 0 {
		fmt.Fprintf(w, "ignored columns: %q\n", ignored)
	}
}
