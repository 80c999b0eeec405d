#!/usr/bin/env bash
# Recompresses the built site's static files as small as the formats allow: zopfli for .gz
# (gzip-compatible, ~5% smaller than gzip -9) and brotli quality 11 for .br. The server serves
# these precompressed files (tower-http ServeDir). Skipped, with a note, when the tools are
# missing: cargo-leptos' own .gz/.br files are then served.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=target/site/pkg
if ! command -v zopfli >/dev/null || ! command -v brotli >/dev/null; then
  echo "note: zopfli/brotli not installed; keeping cargo-leptos' compression (scripts/setup.sh --test installs them)"
  exit 0
fi
for file in "$pkg"/*.wasm "$pkg"/*.js "$pkg"/*.css; do
  [ -f "$file" ] || continue
  zopfli --i15 -c "$file" > "$file.gz.tmp" && mv "$file.gz.tmp" "$file.gz"
  brotli -q 11 -f -o "$file.br" "$file"
done
echo "recompressed $(ls "$pkg"/*.gz | wc -l) files in $pkg (zopfli, brotli -q 11)"
