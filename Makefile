# asgardeo-leptos — the two commands of the README, and a few helpers.
.PHONY: run test dev bench setup fmt lint clean

## Install what is missing, build, and serve on http://localhost:3000 (built-in dev IdP on :9443).
run:
	scripts/run.sh

## Every test: Rust unit + integration tests, then Playwright in Chromium on the release build.
test:
	scripts/test.sh

## For contributors: rebuild on every save (debug wasm, no wasm-opt, the dev IdP) and reload
## the browser (http://localhost:3000).
dev:
	scripts/dev.sh

## Install the toolchain only (add `--test` for Chromium and Redis).
setup:
	scripts/setup.sh

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
	cargo clippy --workspace --exclude frontend --all-targets --features server/dev-idp -- -D warnings

clean:
	cargo clean
	rm -rf node_modules end2end/test-results end2end/playwright-report end2end/artifacts

## Benchmarks (not part of `make test`): writes target/bench/REPORT.md.
bench:
	scripts/bench.sh
