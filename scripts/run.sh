#!/usr/bin/env bash
# Installs what is missing, builds, and serves the app on http://localhost:3000 with the
# built-in development IdP on http://localhost:9443 (sign in as alice / alice-pass). With
# AUTH_ASGARDEO_* set (environment or .env), it signs in with Asgardeo instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-site.sh
# What `cargo leptos serve` would set; the server reads everything else from the environment
# and .env (LEPTOS_SITE_ADDR defaults to 127.0.0.1:3000).
export LEPTOS_OUTPUT_NAME=asgardeo-leptos LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD
exec target/release/server
