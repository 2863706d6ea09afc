#!/bin/sh
# pg-test.sh starts a throwaway PostgreSQL cluster for the store's tests on
# PostgreSQL, prints its URL, and `pg-test.sh stop` ends it (and deletes it).
#
#   export TOSO_TEST_PG=$(scripts/pg-test.sh)
#   go test -p 1 ./store -run TestAreaTreeAndErrors
#   scripts/pg-test.sh stop
#
# As FACTS.md says: initdb refuses to run as root, so as root the cluster
# belongs to the postgres user (runuser), and its folder and log are that
# user's. fsync is off: the cluster lives as long as a test run.
# PGTEST_DIR and PGTEST_PORT choose the folder and the loopback port;
# PGTEST_DURABLE=1 keeps fsync and synchronous_commit on (for benchmarks:
# what a production cluster does).
set -eu
dir=${PGTEST_DIR:-/tmp/toso-pgtest}
port=${PGTEST_PORT:-55432}
# Debian installs the server under /usr/lib/postgresql/VERSION/bin, off the
# PATH: take the newest installed version.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PATH=/usr/local/bin:${pgbin:+$pgbin:}$PATH
as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-start}" in
start)
	if [ ! -f "$dir/PG_VERSION" ]; then
		mkdir -p "$dir"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir"
		as initdb -D "$dir" -A trust -U postgres >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; exit 1; }
	fi
	if ! as pg_ctl -D "$dir" status >/dev/null 2>&1; then
		fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		[ "${PGTEST_DURABLE:-}" = 1 ] && fast="-c shared_buffers=1GB -c max_wal_size=4GB"
		as pg_ctl -D "$dir" -w -l "$dir/server.log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $fast -c max_connections=200" start >/dev/null
	fi
	echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	;;
stop)
	as pg_ctl -D "$dir" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir" "$dir.initdb.log"
	;;
*)
	echo "usage: $0 [start|stop]" >&2
	exit 2
	;;
esac
