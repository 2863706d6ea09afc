package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"toso/store"
)

// Set at build time (the Dockerfile does):
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=$(git rev-parse HEAD) -X main.buildTime=$(date -u +%FT%TZ)"
//
// Without them the commit and time come from the Go toolchain's VCS stamp
// when there is one, and the version is the module's ("devel" from a checkout).
var (
	version   = ""
	commit    = ""
	buildTime = ""
)

// buildInfo says what this binary is.
type buildInfo struct {
	Version   string
	Commit    string
	BuildTime string
	GoVersion string
	Platform  string
	Schema    int // the database schema version it migrates to
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, BuildTime: buildTime,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Schema: store.LatestSchema()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.BuildTime == "" {
					b.BuildTime = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && b.Commit != "" && commit == "" {
			b.Commit += "-dirty"
		}
	}
	for _, v := range []*string{&b.Version, &b.Commit, &b.BuildTime} {
		if *v == "" {
			*v = "unknown"
		}
	}
	if b.Version == "unknown" {
		b.Version = "devel"
	}
	return b
}

// print writes the build information, one "key: value" a line.
func (b buildInfo) print(w io.Writer) {
	fmt.Fprintf(w, "toso %s\ncommit: %s\nbuilt: %s\ngo: %s %s\nschema: %d\n",
		b.Version, b.Commit, b.BuildTime, b.GoVersion, b.Platform, b.Schema)
}

// collector is the toso_build_info metric: always 1, the facts in labels
// (the Prometheus convention for build information).
func (b buildInfo) collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "toso_build_info",
		Help: "What this binary is: version, commit, build time, Go version and database schema version (always 1).",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "build_time": b.BuildTime,
			"go_version": b.GoVersion, "schema": strconv.Itoa(b.Schema)},
	}, func() float64 { return 1 })
}

// runVersion handles "toso version" and "toso --version".
func runVersion(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stderr)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: toso version takes no arguments", errUsage)
	}
	readBuildInfo().print(stdout)
	return nil
}
