#!/usr/bin/env bash
# The whole test suite, as README.md documents it and CI runs it: formatting, lints, the
# Rust tests on SQLite (and on PostgreSQL when scripts/with-postgres.sh exists), then the
# official Seam SDK suites against the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets -- -D warnings

step "Rust tests on SQLite"
cargo nextest run --no-fail-fast

if [ -x scripts/with-postgres.sh ]; then
    step "Rust tests on PostgreSQL"
    scripts/with-postgres.sh cargo nextest run --no-fail-fast
fi

step "release build"
cargo build --release

if [ -x tests/sdk/run.sh ]; then
    step "official SDK and CLI conformance suites"
    if [ -x scripts/with-postgres.sh ]; then
        scripts/with-postgres.sh tests/sdk/run.sh target/release/identity-server
    else
        tests/sdk/run.sh target/release/identity-server
    fi
fi

step "all tests passed"
