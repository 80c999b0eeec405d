#!/usr/bin/env bash
# `make bench`: measures asgardeo-leptos against the figures of issue 5 and writes
# target/bench/REPORT.md (raw data beside it). Loopback only; about 3 minutes once built.
#
#   1. bytes over the wire for a cold load of / and /client-profile, counted by Chromium (gzip, br),
#      and the largest wasm contributors (twiggy);
#   2. GET /server-profile signed in, oha at c=32 for 15 s after a 3 s warm-up (the built-in
#      development IdP serving scim2/Me);
#   3. the server's peak RSS during that load (/proc);
#   4. memory per held session (100 000 sessions in the memory store);
#   5. IdP calls per sign-in after warm-up, as counted by the development IdP;
#   6. per-request auth overhead (criterion).
set -euo pipefail
cd "$(dirname "$0")/.."

OHA_VERSION=1.16.0
TWIGGY_VERSION=0.8.0
out=target/bench
mkdir -p "$out"
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

scripts/setup.sh --test
if [ "$(oha --version 2>/dev/null || true)" != "oha $OHA_VERSION" ]; then
  step "cargo install oha $OHA_VERSION (once)"
  cargo install --locked oha --version "$OHA_VERSION"
fi
if [ "$(twiggy --version 2>/dev/null || true)" != "twiggy $TWIGGY_VERSION" ]; then
  step "cargo install twiggy $TWIGGY_VERSION (once)"
  cargo install --locked twiggy --version "$TWIGGY_VERSION"
fi

step "release build"
scripts/build-site.sh

app_port=$(free_port)
idp_port=$(free_port)
app="http://localhost:$app_port"
step "starting the server on $app (development IdP on :$idp_port)"
RUST_LOG=warn LEPTOS_OUTPUT_NAME=asgardeo-leptos LEPTOS_SITE_ROOT=target/site \
  LEPTOS_SITE_ADDR="127.0.0.1:$app_port" AUTH_URL="$app" DEV_IDP_PORT="$idp_port" \
  target/release/server > "$out/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$app_port/api/auth/session" && break
  kill -0 $server_pid 2>/dev/null || { cat "$out/server.log"; exit 1; }
  sleep 0.1
done

# Signs alice in with a cookie jar, like a browser with redirects followed by hand.
sign_in() {
  local jar=$1 authorize key callback
  rm -f "$jar"
  authorize=$(curl -s -b "$jar" -c "$jar" -o /dev/null -w '%{redirect_url}' "$app/api/auth/signin/asgardeo?callbackUrl=/")
  key=$(curl -s -b "$jar" -c "$jar" "$authorize" | sed -n 's/.*name="sessionDataKey" value="\([^"]*\)".*/\1/p')
  callback=$(curl -s -b "$jar" -c "$jar" -o /dev/null -w '%{redirect_url}' \
    --data-urlencode "sessionDataKey=$key" -d username=alice -d password=alice-pass \
    "http://localhost:$idp_port/t/dev/commonauth")
  curl -s -b "$jar" -c "$jar" -o /dev/null "$callback"
}
stats() { curl -s "http://localhost:$idp_port/t/dev/_stats"; }

step "1. bytes over the wire (Chromium)"
node end2end/bench/wire.mjs "$app" alice alice-pass > "$out/wire.json"
# twiggy needs function names, which wasm-opt strips: look at the wasm-bindgen output instead
# (the shipped code before wasm-opt shrinks it further).
rm -rf "$out/wasm" && mkdir -p "$out/wasm"
wasm-bindgen target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm --out-dir "$out/wasm" --target web --no-typescript
twiggy top -n 15 "$out/wasm/frontend_bg.wasm" > "$out/twiggy.txt"
twiggy top -n 100000 --format csv "$out/wasm/frontend_bg.wasm" > "$out/twiggy.csv"

step "5. IdP calls per sign-in after warm-up"
sign_in "$out/warmup.jar"
stats > "$out/idp-before.json"
for i in $(seq 10); do sign_in "$out/signin-$i.jar"; done
stats > "$out/idp-after.json"

step "2+3. GET /server-profile, oha -c 32 -z 15s, with RSS sampled from /proc"
sign_in "$out/load.jar"
cookie=$(awk '$6 == "asgardeo-leptos.sid" {print $6 "=" $7}' "$out/load.jar")
oha -z 3s -c 32 --no-tui --output-format quiet -H "Cookie: $cookie" -H "Accept: text/html" \
  "http://127.0.0.1:$app_port/server-profile" > /dev/null
rss_max=0
( while kill -0 $server_pid 2>/dev/null; do
    awk '/VmRSS/ {print $2}' /proc/$server_pid/status; sleep 0.1
  done ) > "$out/rss-samples.txt" &
sampler=$!
oha -z 15s -c 32 --no-tui --output-format json -H "Cookie: $cookie" -H "Accept: text/html" \
  "http://127.0.0.1:$app_port/server-profile" > "$out/oha.json"
kill $sampler 2>/dev/null || true
awk '/VmHWM/ {print $2}' /proc/$server_pid/status > "$out/vmhwm.txt"
curl -s -b "$out/load.jar" -H "Accept: text/html" "http://127.0.0.1:$app_port/server-profile" > "$out/last-page.html"
kill $server_pid; wait $server_pid 2>/dev/null || true
trap - EXIT

step "4. memory per held session"
cargo run --quiet --release -p server --example session_memory 100000 > "$out/session-memory.txt"

step "6. per-request auth overhead (criterion)"
cargo bench --quiet -p server --bench auth_overhead -- --warm-up-time 2 --measurement-time 5 > "$out/criterion.txt" 2>&1

step "writing $out/REPORT.md"
python3 scripts/bench_report.py "$out"
cat "$out/REPORT.md"
