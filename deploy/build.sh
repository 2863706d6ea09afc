#!/bin/sh
# deploy/build.sh OUT: the release build of toso, used by the Dockerfile and CI
# alike: a static binary (pure Go, no cgo: modernc SQLite needs no C), paths
# trimmed, and what `toso version` prints stamped in. VERSION, COMMIT and
# BUILD_TIME come from the environment, else from git and the clock.
set -eu
out=${1:?usage: deploy/build.sh OUT}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
build_time=${BUILD_TIME:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit -X main.buildTime=$build_time" \
	-o "$out" .
