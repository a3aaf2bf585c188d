#!/usr/bin/env bash
# Runs Seam's official clients, unchanged, against a freshly started
# identity-server binary: the Python SDK (PyPI `seam`), the JavaScript SDK
# (npm `seam`, which bundles `@seamapi/http`) and the Seam CLI, then checks
# every response they saw against Seam's published OpenAPI (@seamapi/types).
#
#   tests/sdk/run.sh [path/to/identity-server]
#
# The binary defaults to target/release/identity-server (this script builds
# nothing). It installs the pinned clients itself: a venv in tests/sdk/.venv
# and `npm ci` in tests/sdk/js. Each run serves a fresh SQLite database;
# when TEST_POSTGRES_URL or IDENTITY_TEST_POSTGRES_URL is set (a URL whose
# user may CREATE DATABASE, as scripts/with-postgres.sh provides), the whole
# set runs a second time on a fresh PostgreSQL database:
#
#   scripts/with-postgres.sh tests/sdk/run.sh target/release/identity-server
# Prints pass/fail counts and exits non-zero on any failure or skipped test.

set -euo pipefail

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$sdk_dir/../.." && pwd)"
bin="${1:-${IDS_BIN:-$repo_dir/target/release/identity-server}}"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
postgres_url="${TEST_POSTGRES_URL:-${IDENTITY_TEST_POSTGRES_URL:-}}"

if [[ ! -x "$bin" ]]; then
  echo "sdk: no server binary at $bin (build it with: cargo build --release)" >&2
  exit 1
fi

# Credentials or endpoints from the caller's shell must not leak into the clients.
unset SEAM_API_KEY SEAM_PERSONAL_ACCESS_TOKEN SEAM_WORKSPACE_ID SEAM_ENDPOINT SEAM_API_URL \
  SEAM_CLI_TOKEN SEAM_CLI_WORKSPACE_ID SEAM_CLI_ENDPOINT

install_clients() {
  echo "sdk: installing the pinned clients"
  if [[ ! -x "$sdk_dir/.venv/bin/python" ]]; then
    python3 -m venv "$sdk_dir/.venv"
  fi
  "$sdk_dir/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$sdk_dir/requirements.txt"
  (cd "$sdk_dir/js" && npm ci --no-audit --no-fund --loglevel=error)
  echo "sdk: python seam $("$sdk_dir/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("seam"))')," \
    "npm seam $(node -p "require('$sdk_dir/js/node_modules/seam/package.json').version")," \
    "@seamapi/http $(node -p "require('$sdk_dir/js/node_modules/@seamapi/http/package.json').version")," \
    "@seamapi/cli $(node -p "require('$sdk_dir/js/node_modules/@seamapi/cli/package.json').version")," \
    "@seamapi/types $(node -p "require('$sdk_dir/js/node_modules/@seamapi/types/package.json').version")"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

created_pg_database=""
drop_pg_database() {
  if [[ -n "$created_pg_database" ]]; then
    psql "$postgres_url" -q -c "DROP DATABASE IF EXISTS \"$created_pg_database\"" >/dev/null 2>&1 || true
    created_pg_database=""
  fi
}

cleanup() {
  stop_server
  drop_pg_database
}
trap cleanup EXIT

runner_failures=0

# run_suite NAME OUT_DIR COMMAND...: runs one suite; summarize.py reads its JUnit report.
run_suite() {
  local name="$1" out="$2"
  shift 2
  echo
  echo "=== $name"
  set +e
  "$@"
  local status=$?
  set -e
  if [[ $status -ne 0 ]]; then
    echo "sdk: $name exited $status"
  fi
}

# run_against BACKEND DATABASE_URL: starts a fresh server on the database and runs every suite.
run_against() {
  local backend="$1" database="$2"
  local work="$out_root/$backend"
  mkdir -p "$work/captures"

  # Creating a workspace first keeps `serve` from bootstrapping (and printing) one.
  "$bin" admin workspace create --name "sdk-bootstrap" --database "$database" >/dev/null

  local port
  port="$(free_port)"
  "$bin" serve --listen "127.0.0.1:$port" --database "$database" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "sdk: the server exited at startup:" >&2
      cat "$work/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo
  echo "##### $backend: identity-server on 127.0.0.1:$port"

  export IDS_ENDPOINT="http://127.0.0.1:$port" IDS_BIN="$bin" IDS_DATABASE="$database"
  export IDS_CAPTURE_DIR="$work/captures"

  run_suite python "$work" "$sdk_dir/.venv/bin/python" -m pytest "$sdk_dir/python" -q -rfE \
    -p no:cacheprovider --junitxml="$work/python.xml"
  local suite
  for suite in js cli schema; do
    local file="$suite.test.mjs"
    [[ $suite == js ]] && file="user_identities.test.mjs"
    run_suite "$suite" "$work" node --test --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=junit --test-reporter-destination="$work/$suite.xml" "$sdk_dir/js/$file"
  done

  stop_server
  if grep -q 'panicked' "$work/server.log"; then
    echo "sdk: the server panicked during the $backend run; see $work/server.log"
    runner_failures=$((runner_failures + 1))
  fi
  # Project standard: no key, email, phone or name in the server's logs.
  if grep -qE 'jean@example\.com|\+15555550110|Jean Doe|seam_[A-Za-z0-9]' "$work/server.log"; then
    echo "sdk: the server logged a secret or personal data during the $backend run; see $work/server.log"
    runner_failures=$((runner_failures + 1))
  fi
}

out_root="${IDS_SDK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ids-sdk.XXXXXX")}"
mkdir -p "$out_root"
install_clients

run_against sqlite "sqlite://$out_root/sqlite/identity.sqlite"

if [[ -n "$postgres_url" ]]; then
  created_pg_database="ids_sdk_$(date +%s)_$$"
  psql "$postgres_url" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$created_pg_database\"" >/dev/null
  run_against postgres "$(python3 - "$postgres_url" "$created_pg_database" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
parts = urlsplit(sys.argv[1])
print(urlunsplit(parts._replace(path="/" + sys.argv[2])))
EOF
)"
  drop_pg_database
fi

echo
python3 "$sdk_dir/summarize.py" "$out_root" "$runner_failures"
