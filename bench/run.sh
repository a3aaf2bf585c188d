#!/usr/bin/env bash
# The one command of the benchmark (see bench/README.md):
#   bench/run.sh [--sizes 10000,1000000] [--duration 10s] [--postgres] [more: bench/bench.py --help]
# Builds the release binary with cargo, installs wrk when missing, then hands over
# to bench/bench.py, which seeds fresh databases, drives the server and prints the report.
# Extra options of this script: --no-build with --binary PATH, to measure a given binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
command_line="bench/run.sh${*:+ $*}"

build=1
binary=""
pass=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --binary) binary="$2"; shift 2 ;;
    --binary=*) binary="${1#--binary=}"; shift ;;
    *) pass+=("$1"); shift ;;
  esac
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "[bench] installing wrk (Debian package)" >&2
  sudo_cmd=()
  [[ "$(id -u)" -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi

if [[ -z "$binary" ]]; then
  if [[ "$build" -eq 1 ]]; then
    echo "[bench] cargo build --release" >&2
    (cd "$repo" && cargo build --release --quiet)
  fi
  target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  binary="$target_dir/release/identity-server"
fi
[[ -x "$binary" ]] || { echo "[bench] no binary at $binary" >&2; exit 1; }

exec python3 "$here/bench.py" --binary "$binary" --command "$command_line" "${pass[@]}"
