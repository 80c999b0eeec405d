#!/usr/bin/env bash
# The contributors' loop: `cargo leptos watch` rebuilds the server and the wasm (debug, no
# wasm-opt; split per lazy route, as the pages need) on every save under app/, frontend/, server/ or style/, restarts the
# server with the built-in development IdP, and reloads the open browser tab (AutoReload).
# Serves http://localhost:3000; sign in as alice / alice-pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo leptos watch --split --bin-features dev-idp "$@"
