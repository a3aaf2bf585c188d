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

# Built first: the tests that start the server as a process (the crash test among them)
# run this binary, the one that ships.
step "release build"
cargo build --release
target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir="$(pwd)/$target_dir"
export IDENTITY_TEST_SERVER_BINARY="$target_dir/release/identity-server"

# A small file system of its own for the disk-full test (tests/api/disk_full.rs). Mounting
# needs root; without it the test is skipped, and this says so.
small_disk=$(mktemp -d /tmp/identity-small-disk.XXXXXX)
if mount -t tmpfs -o size=8m identity-small-disk "$small_disk" 2>/dev/null; then
    trap 'umount "$small_disk" && rmdir "$small_disk"' EXIT
    export IDENTITY_TEST_SMALL_DISK="$small_disk"
else
    rmdir "$small_disk"
    echo "note: cannot mount a tmpfs (not root?): the disk-full test is skipped" >&2
fi

step "Rust tests on SQLite"
cargo nextest run --no-fail-fast

if [ -x scripts/with-postgres.sh ]; then
    step "Rust tests on PostgreSQL"
    scripts/with-postgres.sh cargo nextest run --no-fail-fast
fi

if [ -x tests/sdk/run.sh ]; then
    step "official SDK and CLI conformance suites"
    if [ -x scripts/with-postgres.sh ]; then
        scripts/with-postgres.sh tests/sdk/run.sh "$IDENTITY_TEST_SERVER_BINARY"
    else
        tests/sdk/run.sh "$IDENTITY_TEST_SERVER_BINARY"
    fi
fi

step "all tests passed"
