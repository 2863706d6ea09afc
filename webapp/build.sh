#!/bin/sh
# build.sh fetches the pinned SQLite WebAssembly build (package.json,
# package-lock.json) and copies the two files the member web app loads into
# static/sqlite/, which the Go binary embeds. The copies are committed, so
# building or running Toso needs no npm; run this only to change the version.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
src=node_modules/@sqlite.org/sqlite-wasm
mkdir -p static/sqlite
cp "$src/dist/index.mjs" static/sqlite/sqlite3.mjs   # the ES module; it loads sqlite3.wasm beside itself
cp "$src/dist/sqlite3.wasm" static/sqlite/sqlite3.wasm
node -e 'process.stdout.write(require("./'"$src"'/package.json").version)' > static/sqlite/VERSION
echo "static/sqlite: @sqlite.org/sqlite-wasm $(cat static/sqlite/VERSION)"
