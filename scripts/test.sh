#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, then the Playwright suite in Chromium
# against the release build. `make test` and `.ci/run` call this.
set -euo pipefail
cd "$(dirname "$0")/.."

current="set-up"
step() { current="$*"; printf '\033[1m==> %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# A failure names its step and the free disk space on the last lines, where CI logs are cut.
disk_free_gb() { df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1048576 }'; }
on_exit() {
  local rc=$?
  [ "$rc" = 0 ] && return
  printf '\ntest.sh: FAILED during "%s" (exit %s); %s GB free on this disk\n' \
    "$current" "$rc" "$(disk_free_gb)" >&2
}
trap on_exit EXIT
# A cold run fills about 4.3 GB (target/, node_modules/), 3 GB more for a toolchain installed
# from nothing; say so before it runs out.
if [ "$(disk_free_gb)" -lt 8 ]; then
  echo "warning: only $(disk_free_gb) GB free on this disk; a first 'make test' needs up to 8 GB" >&2
fi

# CI builds once from a clean tree: incremental caches would only take disk space (gigabytes).
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

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
