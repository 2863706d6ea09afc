package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A command's flags: each subcommand makes its own FlagSet with only the
// flags it uses (so "toso migrate -h" does not list the server's), and every
// flag --some-name can also be given as the environment variable
// TOSO_SOME_NAME (a flag on the command line wins; an empty variable counts
// as unset). The variable is derived from the name, so no flag can lack one.

// newFlagSet makes the flag set of "toso NAME"; operands describes what
// follows the flags in the usage line (e.g. "PATH"), or "".
func newFlagSet(name, operands string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("toso "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, strings.TrimSpace("usage: toso "+name+" [flags] "+operands))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return
		}
		fmt.Fprintf(w, "\nflags (each also read from the environment variable shown; a flag wins):\n")
		fs.VisitAll(func(f *flag.Flag) {
			typ, use := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  -%s", f.Name)
			if typ != "" {
				fmt.Fprintf(w, " %s", typ)
			}
			fmt.Fprintf(w, "\t[%s]\n    \t%s", envName(f.Name), strings.ReplaceAll(use, "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
	return fs
}

// envName is the environment variable of a flag: db → TOSO_DB,
// fcm-credentials → TOSO_FCM_CREDENTIALS.
func envName(flagName string) string {
	return "TOSO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// errHelp is what parseFlags returns for -h: run prints nothing more and
// exits 0.
var errHelp = flag.ErrHelp

// parseFlags parses args, then sets every flag not given on the command line
// from its TOSO_* variable. A bad value in a variable is a usage error naming
// the variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%w: %s=%q is not a valid -%s: %v", errUsage, envName(f.Name), v, f.Name, serr)
			}
		}
	})
	return err
}
