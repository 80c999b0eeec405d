#!/usr/bin/env bash
# `make bench`: measures asgardeo-leptos and writes target/bench/REPORT.md (raw data beside it).
# Loopback only; about 4 minutes once built.
#
#   1. bytes over the wire, counted by Chromium: a cold load of every route, and what each
#      client-side navigation adds (gzip and brotli); the largest wasm contributors (twiggy);
#   2. GET /server-profile (server-rendered) signed in, oha at c=32 for 15 s after a 3 s warm-up,
#      and POST /api/server_profile (the server function as the browser calls it), likewise;
#   3. the server's peak RSS during the page load (/proc);
#   4. memory per held session (100 000 sessions in the memory store);
#   5. IdP calls per sign-in after warm-up, as counted by the development IdP;
#   6. per-request auth overhead (criterion);
#   7. floods: GET /server-profile at c=1000 (RSS, latency, statuses), and normal load while
#      1000 slow request heads are held open (scripts/slow_heads.py).
#
# BENCH_BASELINE=/path/to/another/checkout (built with `cargo leptos build --release`) also loads
# that build's GET /server-profile, right before this one, and reports both.
set -euo pipefail
cd "$(dirname "$0")/.."

OHA_VERSION=1.16.0
TWIGGY_VERSION=0.8.0
out=target/bench
mkdir -p "$out"
rm -f "$out"/oha-*.json "$out"/baseline-* "$out"/rss-*.txt "$out"/slow-heads-*.json
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

server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=; }
trap stop_server EXIT

# start_server <checkout> <log>: the release server of <checkout> with its own development IdP.
start_server() {
  local root=$1 log=$2
  app_port=$(free_port)
  idp_port=$(free_port)
  app="http://localhost:$app_port"
  RUST_LOG=warn LEPTOS_OUTPUT_NAME=asgardeo-leptos LEPTOS_SITE_ROOT="$root/target/site" \
    LEPTOS_SITE_ADDR="127.0.0.1:$app_port" AUTH_URL="$app" DEV_IDP_PORT="$idp_port" \
    "$root/target/release/server" > "$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$app_port/api/auth/session" && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
  done
  echo "the server did not start" >&2
  exit 1
}

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
cookie_of() { awk '$6 == "asgardeo-leptos.sid" {print $6 "=" $7}' "$1"; }
stats() { curl -s "http://localhost:$idp_port/t/dev/_stats"; }

# sample_rss <file>: the server's RSS every 100 ms into <file>, until killed.
sample_rss() {
  ( while kill -0 "$server_pid" 2>/dev/null; do
      awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; sleep 0.1
    done ) > "$1" &
  sampler=$!
}

# floods <name>: against the running server, signed in with $cookie: GET /server-profile at
# c=1000 for 10 s, then normal load (c=32, 10 s) while 1000 slow request heads are held open.
floods() {
  local name=$1 heads
  sample_rss "$out/rss-$name-c1000.txt"
  oha -z 10s -c 1000 --no-tui --output-format json -H "Cookie: $cookie" -H "Accept: text/html" \
    "http://127.0.0.1:$app_port/server-profile" > "$out/oha-$name-c1000.json"
  kill "$sampler" 2>/dev/null || true
  sleep 2
  python3 scripts/slow_heads.py "$app_port" 1000 15 > "$out/slow-heads-$name.json" &
  heads=$!
  sleep 3
  sample_rss "$out/rss-$name-slow.txt"
  oha -z 10s -c 32 --no-tui --output-format json -H "Cookie: $cookie" -H "Accept: text/html" \
    "http://127.0.0.1:$app_port/server-profile" > "$out/oha-$name-slow.json"
  kill "$sampler" 2>/dev/null || true
  wait "$heads"
}

# load <name> <oha args...>: 3 s warm-up, then 15 s measured into $out/oha-<name>.json.
load() {
  local name=$1
  shift
  oha -z 3s -c 32 --no-tui --output-format quiet "$@" > /dev/null
  oha -z 15s -c 32 --no-tui --output-format json "$@" > "$out/oha-$name.json"
}

if [ -n "${BENCH_BASELINE:-}" ]; then
  step "2a. baseline ($BENCH_BASELINE): GET /server-profile, oha -c 32 -z 15s"
  start_server "$BENCH_BASELINE" "$out/baseline-server.log"
  sign_in "$out/baseline.jar"
  cookie=$(cookie_of "$out/baseline.jar")
  load baseline-page -H "Cookie: $cookie" -H "Accept: text/html" \
    "http://127.0.0.1:$app_port/server-profile"
  step "7a. baseline: floods"
  floods baseline
  git -C "$BENCH_BASELINE" log -1 --format='%h %s' > "$out/baseline-commit.txt"
  stop_server
fi

start_server "$PWD" "$out/server.log"
step "server on $app (development IdP on :$idp_port)"

step "2b. GET /server-profile, oha -c 32 -z 15s, with RSS sampled from /proc"
sign_in "$out/load.jar"
cookie=$(cookie_of "$out/load.jar")
sample_rss "$out/rss-samples.txt"
load page -H "Cookie: $cookie" -H "Accept: text/html" "http://127.0.0.1:$app_port/server-profile"
kill $sampler 2>/dev/null || true
awk '/VmHWM/ {print $2}' "/proc/$server_pid/status" > "$out/vmhwm.txt"
curl -s -H "Cookie: $cookie" -H "Accept: text/html" "http://127.0.0.1:$app_port/server-profile" > "$out/last-page.html"

step "2c. POST /api/server_profile (the server function, as the browser calls it)"
load server-fn -m POST -H "Cookie: $cookie" -H "Content-Type: application/json" \
  -H "Sec-Fetch-Site: same-origin" -d '{}' "http://127.0.0.1:$app_port/api/server_profile"

step "7. floods: GET /server-profile at c=1000, then c=32 under 1000 slow request heads"
floods current

step "1. bytes over the wire (Chromium)"
node end2end/bench/wire.mjs "$app" alice alice-pass > "$out/wire.json"
# twiggy needs function names, which wasm-opt strips: look at the wasm-bindgen output of the
# main module instead (the shipped code before wasm-opt shrinks it further).
rm -rf "$out/wasm" && mkdir -p "$out/wasm"
wasm-bindgen target/front/wasm32-unknown-unknown/wasm-release/frontend_split.wasm --out-dir "$out/wasm" --target web --no-typescript
twiggy top -n 15 "$out/wasm/frontend_split_bg.wasm" > "$out/twiggy.txt"
twiggy top -n 100000 --format csv "$out/wasm/frontend_split_bg.wasm" > "$out/twiggy.csv"
( cd target/site/pkg && for f in *.wasm *.js; do
    printf '%s %s %s %s\n' "$f" "$(stat -c %s "$f")" "$(stat -c %s "$f.gz")" "$(stat -c %s "$f.br")"
  done ) > "$out/files.txt"
cp target/site/pkg/__wasm_split_manifest.json "$out/split-manifest.json"

step "5. IdP calls per sign-in after warm-up"
sign_in "$out/warmup.jar"
stats > "$out/idp-before.json"
for i in $(seq 10); do sign_in "$out/signin-$i.jar"; done
stats > "$out/idp-after.json"
stop_server
trap - EXIT

step "4. memory per held session"
cargo run --quiet --release -p server --example session_memory 100000 > "$out/session-memory.txt"

step "6. per-request auth overhead (criterion)"
cargo bench --quiet -p server --bench auth_overhead -- --warm-up-time 2 --measurement-time 5 > "$out/criterion.txt" 2>&1

step "writing $out/REPORT.md"
python3 scripts/bench_report.py "$out"
cat "$out/REPORT.md"
