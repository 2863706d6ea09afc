package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"toso/store"
)

// helpFlags runs "toso ARGS -h" and returns the flags it lists with the
// environment variable it names for each.
func helpFlags(t *testing.T, args ...string) map[string]string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, "-h"), env(nil), &out, &errOut); err != nil {
		t.Fatalf("toso %s -h: %v", strings.Join(args, " "), err)
	}
	help := errOut.String()
	if !strings.HasPrefix(help, "usage: toso "+strings.Join(args, " ")) {
		t.Errorf("toso %s -h starts %q", strings.Join(args, " "), help)
	}
	flags := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)(?: \S+)?\t\[(\S+)\]$`).FindAllStringSubmatch(help, -1) {
		flags[m[1]] = m[2]
	}
	if n := strings.Count(help, "\n  -"); n != len(flags) {
		t.Errorf("toso %s -h: %d flag lines, %d of them with a variable:\n%s", strings.Join(args, " "), n, len(flags), help)
	}
	return flags
}

// TestHelpShowsOnlyTheCommandsFlags: each subcommand's -h lists its own
// flags and nothing else, and each flag names its TOSO_* variable.
func TestHelpShowsOnlyTheCommandsFlags(t *testing.T) {
	serve := []string{"access-log", "access-ttl", "addr", "citizen-key", "db", "fcm-credentials", "fcm-endpoint",
		"fcm-project", "jwt-secret", "key-file", "log-level", "login-per-ip", "metrics-addr", "metrics-token", "pprof", "push",
		"refresh-ttl", "shutdown-timeout", "trusted-proxies"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve"}, serve},
		{[]string{"demo"}, serve},
		{[]string{"migrate"}, []string{"db"}},
		{[]string{"backup"}, []string{"db"}},
		{[]string{"restore"}, []string{"after-pg-restore", "db"}},
		{[]string{"version"}, nil},
		{[]string{"import", "areas"}, []string{"db", "log-level"}},
		{[]string{"user", "create"}, []string{"area", "db", "name", "phone", "role", "team"}},
		{[]string{"generate"}, []string{"activity", "db", "key-file", "members", "phone-dir", "phones", "seed", "teams"}},
		{[]string{"generate-logs"}, []string{"citizen-key", "communes", "db", "key-file", "logs", "merged", "seed", "villages"}},
		{[]string{"bench"}, []string{"concurrency", "cpuprofile", "db", "duration", "metrics-url", "mutations", "password", "phone-dir", "phones",
			"rate", "seed", "server-pid", "signed-in", "tmp", "url"}},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			flags := helpFlags(t, tc.args...)
			var got []string
			for name, variable := range flags {
				got = append(got, name)
				if want := "TOSO_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")); variable != want {
					t.Errorf("-%s names %s, want %s", name, variable, want)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("flags = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestEnvironmentSetsFlags: a TOSO_* variable sets its flag, a flag on the
// command line wins over it, and a bad value names the variable.
func TestEnvironmentSetsFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fromEnv, fromFlag := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate"}, env(map[string]string{"TOSO_DB": fromEnv}), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"migrate", "-db", fromFlag}, env(map[string]string{"TOSO_DB": fromEnv}), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fromEnv + " is at schema version", fromFlag + " is at schema version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("migrate printed %q, want %q", out.String(), want)
		}
	}
	err := run(ctx, []string{"serve"}, env(map[string]string{"TOSO_DB": fromEnv, "TOSO_SHUTDOWN_TIMEOUT": "soon"}), io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `TOSO_SHUTDOWN_TIMEOUT="soon"`) {
		t.Errorf("a bad TOSO_SHUTDOWN_TIMEOUT: %v, want a usage error naming it", err)
	}
	err = run(ctx, []string{"serve", "-addr", "nowhere"}, env(map[string]string{"TOSO_DB": fromEnv}), io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Errorf("serve -addr nowhere: %v, want a usage error", err)
	}
	err = run(ctx, []string{"migrate", "extra"}, env(map[string]string{"TOSO_DB": fromEnv}), io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Errorf("migrate extra: %v, want a usage error", err)
	}
}

// TestVersion: "toso version" and "toso --version" print the version, the
// commit, the build time, the Go version and the schema version, and a
// running server exports them as toso_build_info.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, env(nil), &out, io.Discard); err != nil {
			t.Fatalf("toso %s: %v", args[0], err)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^toso \S+$`), regexp.MustCompile(`(?m)^commit: \S+$`),
			regexp.MustCompile(`(?m)^built: \S+$`), regexp.MustCompile(`(?m)^go: go1\.\S+ \S+/\S+$`),
			regexp.MustCompile(`(?m)^schema: ` + strconv.Itoa(store.LatestSchema()) + `$`),
		} {
			if !want.MatchString(out.String()) {
				t.Errorf("toso %s printed:\n%s\nwant a line matching %s", args[0], out.String(), want)
			}
		}
	}
	if store.LatestSchema() < 9 {
		t.Errorf("LatestSchema() = %d, want at least the 9 shipped migrations", store.LatestSchema())
	}

	base, stop := serveForTest(t, filepath.Join(t.TempDir(), "toso.db"))
	defer stop()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`(?m)^toso_build_info\{build_time="[^"]+",commit="[^"]+",go_version="go1\.[^"]+",schema="` +
		strconv.Itoa(store.LatestSchema()) + `",version="[^"]+"\} 1$`)
	if !re.Match(body) {
		t.Errorf("/metrics lacks toso_build_info matching %s", re)
	}
}

// testMetricsToken lets the tests read /metrics on the main listener.
const testMetricsToken = "test-metrics-token-0123456789abcdef"

// serveForTest runs "toso serve" on db until stop, and returns its URL.
func serveForTest(t *testing.T, db string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lines := &lineWriter{addr: make(chan string, 1)}
	logs := &lockedLog{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-db", db, "-addr", "127.0.0.1:0", "-access-log=false", "-push", "off",
			"-metrics-addr", "off", "-metrics-token", testMetricsToken},
			env(nil), io.Discard, io.MultiWriter(lines, logs))
	}()
	select {
	case addr := <-lines.addr:
		base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("serve stopped: %v\n%s", err, logs.String())
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	}
}
