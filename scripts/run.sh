#!/usr/bin/env bash
# Set up and run Yunting on its embedded defaults: SQLite in ./data, HTTPS on 0.0.0.0:8443
# (self-signed certificate made at first start), HTTP on 127.0.0.1:8080, dev outbox on.
# First run seeds the demo commission and prints staff passwords and party links
# (kept in ./data/demo.json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-packages.sh run
cargo build --release
./target/release/yunting demo --if-empty
echo
echo "Console: http://127.0.0.1:8080/  (phones: ${YUNTING_PUBLIC_URL:-https://localhost:8443}/)"
echo "Dev outbox (one-time codes): http://127.0.0.1:8080/dev/outbox"
exec ./target/release/yunting serve --dev
