#!/usr/bin/env bash
# Builds the release site: the server binary and the browser bundle, the latter split into one
# wasm chunk per lazy route (`--split`), then precompressed with zopfli and brotli.
# `make run`, `make test` and `make bench` all build with this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo leptos build --release --precompress --split
scripts/compress-site.sh
