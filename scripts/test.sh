#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what it needs, starts
# PostgreSQL on loopback, runs the Rust tests on SQLite and PostgreSQL, then the
# real-browser test (headless Debian Chromium) against a running server.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
./scripts/install-packages.sh test
export PATH="${YUNTING_PYHANKO_VENV:-$HOME/.cache/yunting/pyhanko-venv}/bin:$PATH"
# The PDF oracles (pdfsig, pyHanko, openssl ts) are installed above: missing ones fail.
export YUNTING_REQUIRE_ORACLES=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pgdir=$(mktemp -d /tmp/yunting-pg.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  "$root/scripts/pg-test-server.sh" stop "$pgdir"
}
trap cleanup EXIT
pgport=$(free_port)
./scripts/pg-test-server.sh start "$pgdir" "$pgport"
export YUNTING_TEST_PG_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
echo "PostgreSQL on 127.0.0.1:$pgport"

df -h . | tail -n 1
cargo build --all-targets
# The build's footprint, for the CI log (its machines have run out of disk before).
du -sh target; df -h . | tail -n 1
cargo test --all-targets 2>&1 | tee /tmp/yunting-cargo-test.log
test "${PIPESTATUS[0]}" -eq 0

# Real browser: the console, the party's phone page and the hearing room against the real server.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d /tmp/yunting-browser.XXXXXX)
port=$(free_port)
base="http://127.0.0.1:$port"
./target/debug/yunting --data-dir "$work/data" --public-url "$base" demo > "$work/demo.json"
YUNTING_RECORDINGS_DIR="$work/recordings" YUNTING_HTTP_ADDR="127.0.0.1:$port" YUNTING_HTTPS_ADDR=off YUNTING_MEDIA_UDP_ADDR="127.0.0.1:$(free_port)" YUNTING_MEDIA_TCP_ADDR="127.0.0.1:$(free_port)" ./target/debug/yunting --data-dir "$work/data" --public-url "$base" serve --dev > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
YT_BASE="$base" YT_DEMO="$work/demo.json" node tests/browser/console_party.mjs
# Three Chromium participants in one hearing room, VP8 then H.264.
YT_BASE="$base" YT_DEMO="$work/demo.json" node tests/browser/room.mjs
YT_BASE="$base" YT_DEMO="$work/demo.json" node tests/browser/recording_tile.mjs
YT_BASE="$base" YT_DEMO="$work/demo.json" YT_BIN=./target/debug/yunting node tests/browser/esign.mjs
# Last: it closes the demo hearing.
YT_BASE="$base" YT_DEMO="$work/demo.json" node tests/browser/hearing.mjs
# After the hearing: search → timeline → case-file bundle → verify page → statistics.
YT_BASE="$base" YT_DEMO="$work/demo.json" YT_BIN=./target/debug/yunting node tests/browser/records.mjs
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
./target/debug/yunting --data-dir "$work/data" audit verify
rm -rf "$work"
echo "all tests passed"
