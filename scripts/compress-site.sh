#!/usr/bin/env bash
# Recompresses the built site's static files as small as the formats allow: zopfli for .gz
# (gzip-compatible, ~6% smaller than gzip -9, ~18% smaller than cargo-leptos' own .gz) and
# brotli quality 11 for .br. The server serves these precompressed files (tower-http
# ServeDir). Without zopfli it falls back to gzip -9; without brotli cargo-leptos' .br stays.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=target/site/pkg
have() { command -v "$1" >/dev/null 2>&1; }
have zopfli || echo "note: zopfli is not installed (scripts/setup.sh --test installs it); using gzip -9"
have brotli || echo "note: brotli is not installed (scripts/setup.sh --test installs it); keeping cargo-leptos' .br"
for file in "$pkg"/*.wasm "$pkg"/*.js "$pkg"/*.css; do
  [ -f "$file" ] || continue
  if have zopfli; then zopfli --i15 -c "$file" >"$file.gz.tmp"; else gzip -9 -n -c "$file" >"$file.gz.tmp"; fi
  mv "$file.gz.tmp" "$file.gz"
  if have brotli; then brotli -q 11 -f -o "$file.br" "$file"; fi
done
echo "recompressed the site's wasm, JS and CSS in $pkg"
