#!/usr/bin/env bash
# Installs what asgardeo-leptos needs to build (and, with `--test`, to test), skipping whatever is
# already there at the pinned version. Safe to run again; `make run` and `make test` call it.
#
# Pins (see README → Toolchain): cargo-leptos 0.3.10, wasm-bindgen-cli 0.2.129 (must equal the
# `wasm-bindgen` crate), wasm-opt from npm binaryen 132 (never Debian's binaryen: it breaks
# hydration), Debian's Chromium for Playwright, Debian's redis-server for the session tests.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/toolchain.env
with_tests=false
[ "${1:-}" = "--test" ] && with_tests=true

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else
    echo "error: '$*' needs root; run it once by hand" >&2; exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

have cargo || { echo "error: cargo is missing; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
have npm || { echo "error: npm is missing; install Node.js 20 or newer" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The pinned nightly for the size-optimised wasm (scripts/build-site.sh); optional.
if ! rustup component list --toolchain "$WASM_NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
  step "rustup toolchain install $WASM_NIGHTLY (for a smaller wasm bundle, once)"
  rustup toolchain install "$WASM_NIGHTLY" --profile minimal --component rust-src \
    --target wasm32-unknown-unknown \
    || echo "note: could not install $WASM_NIGHTLY; the wasm will be built with stable Rust (larger)"
fi

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  step "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
  cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt (binaryen) and Playwright, from package-lock.json. cargo-leptos finds wasm-opt in
# node_modules/.bin before anything else on PATH; browsers are never downloaded.
if ! node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q 'version 132' \
  || ! [ -x node_modules/.bin/playwright ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (binaryen 132 for wasm-opt, Playwright)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

# zopfli and brotli precompress the site's wasm and JS (about 15% smaller than cargo-leptos'
# gzip); Chromium runs Playwright, redis-server the session-store tests.
if $with_tests; then
  apt_install chromium redis-server zopfli brotli
elif ! have zopfli || ! have brotli; then
  # Nice to have for `make run`: installed only where that needs no password prompt.
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    apt_install zopfli brotli || echo "note: could not install zopfli/brotli; serving gzip -9 instead"
  fi
fi
step "toolchain ready"
