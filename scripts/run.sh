#!/usr/bin/env bash
# Installs what is missing, builds, and serves the app on http://localhost:3000 with the
# built-in development IdP on http://localhost:9443 (sign in as alice / alice-pass). With
# AUTH_ASGARDEO_* set (environment or .env), it signs in with Asgardeo instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo leptos serve --release --precompress
