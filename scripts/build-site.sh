#!/usr/bin/env bash
# Builds the release site: the server binary (stable Rust) and the browser bundle, split into a
# wasm chunk per lazy route (`--split`), then precompressed with zopfli and brotli.
# `make run`, `make test` and `make bench` all build with this.
#
# The wasm is built with a pinned nightly when it is installed (scripts/setup.sh installs it):
# std rebuilt for size with panics that abort at once, without their messages, source
# locations and Debug formatting, which takes about 30 kB (gzip) off the download. Behaviour is
# the same; without the nightly the build falls back to stable and a larger bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.env

cargo leptos build --release --precompress --split --server-only --bin-features dev-idp
if rustup run "$WASM_NIGHTLY" rustc --version >/dev/null 2>&1 \
  && rustup component list --toolchain "$WASM_NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
  RUSTUP_TOOLCHAIN="$WASM_NIGHTLY" RUSTFLAGS="$WASM_NIGHTLY_RUSTFLAGS" \
    cargo leptos build --release --precompress --split --frontend-only \
    --lib-cargo-args="$WASM_NIGHTLY_CARGO_ARGS"
else
  echo "note: $WASM_NIGHTLY is not installed (scripts/setup.sh installs it); building the wasm with stable Rust, about 30 kB larger"
  cargo leptos build --release --precompress --split --frontend-only
fi
scripts/compress-site.sh
