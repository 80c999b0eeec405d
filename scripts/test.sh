#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, then the Playwright suite in Chromium
# against the release build. `make test` and `.ci/run` call this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

scripts/setup.sh --test

step "cargo test (unit and integration tests)"
cargo test --locked --workspace --exclude frontend --features server/dev-idp

step "release build (server, split wasm)"
scripts/build-site.sh

step "Playwright (Chromium) end-to-end tests"
# The paths and ids the tests use, written from app::names (one source, no drift).
cargo run --locked -q -p app --example ids_json > end2end/ids.json
export E2E_APP_PORT="${E2E_APP_PORT:-$(free_port)}"
export E2E_IDP_PORT="${E2E_IDP_PORT:-$(free_port)}"
export E2E_APP_OP_PORT="${E2E_APP_OP_PORT:-$(free_port)}"
export E2E_OP_PORT="${E2E_OP_PORT:-$(free_port)}"
export E2E_APP_HIDDEN_PORT="${E2E_APP_HIDDEN_PORT:-$(free_port)}"
export E2E_IDP_HIDDEN_PORT="${E2E_IDP_HIDDEN_PORT:-$(free_port)}"
mkdir -p end2end/artifacts
npx playwright test -c end2end/playwright.config.ts
step "all tests passed; screenshots in end2end/artifacts/"
