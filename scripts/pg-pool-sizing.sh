#!/usr/bin/env bash
# Measures throughput by pool size (docs/postgres.md, "Sizing the pool"): a throwaway
# PostgreSQL 15 cluster with fsync and synchronous_commit on, 20,000 seeded identities, one
# release server per pool size, and wrk at 64 connections on get-by-id and create (the
# bench/lua scripts). Needs `cargo build --release` and wrk.
#
#   scripts/pg-pool-sizing.sh                 # pools 2 4 16 64, 8 s per run
#   POOLS="8 32" DURATION=15 scripts/pg-pool-sizing.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/identity-server}
DIR=$(mktemp -u /tmp/identity-pg-sizing.XXXXXX)
SP=
trap '[ -n "$SP" ] && kill "$SP" 2>/dev/null; scripts/pg-cluster.sh destroy "$DIR"; rm -f "$DIR.ids"' EXIT
ADMIN=$(scripts/pg-cluster.sh init $DIR)
cat >> $DIR/data/postgresql.conf <<CONF
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
scripts/pg-cluster.sh stop $DIR; scripts/pg-cluster.sh start $DIR
/usr/lib/postgresql/15/bin/psql -q "$ADMIN" -c "create database bench"
URL=${ADMIN%/postgres}/bench
WS=$($BIN admin workspace create --name bench --database $URL 2>/dev/null)
KEY=$(echo "$WS" | python3 -c 'import json,sys;print(json.load(sys.stdin)["api_key"])')
WID=$(echo "$WS" | python3 -c 'import json,sys;print(json.load(sys.stdin)["workspace_id"])')
$BIN admin seed --workspace $WID --count 20000 --database $URL 2>/dev/null >/dev/null
/usr/lib/postgresql/15/bin/psql -q "$URL" -c "vacuum analyze"
export BENCH_LUA_DIR=$PWD/bench/lua BENCH_API_KEY=$KEY
tag=100
for pool in ${POOLS:-2 4 16 64}; do
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --database $URL --db-pool-size $pool >/dev/null 2>&1 &
  SP=$!
  sleep 1.5
  if [ ! -s "$DIR.ids" ]; then
    python3 - $PORT $KEY > $DIR.ids <<'PY'
import json, sys, urllib.request
port, key = sys.argv[1], sys.argv[2]
cursor, n = None, 0
while True:
    url = f"http://127.0.0.1:{port}/user_identities/list?limit=1000" + (f"&page_cursor={cursor}" if cursor else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    body = json.load(urllib.request.urlopen(req))
    for u in body["user_identities"]:
        n += 1
        print(f"{u['user_identity_id']}\t{n}")
    cursor = body["pagination"]["next_page_cursor"]
    if not cursor: break
PY
  fi
  for scenario in get create; do
    tag=$((tag+1))
    out=$(BENCH_TAG=$tag BENCH_IDS_FILE=$DIR.ids wrk -t1 -c64 -d${DURATION:-8}s -s bench/lua/$scenario.lua http://127.0.0.1:$PORT 2>&1)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '/Latency/ {print $2; exit}')
    errs=$(echo "$out" | grep -o '"non2xx":[0-9]*' | head -1)
    echo "pool=$pool scenario=$scenario rps=$rps avg_latency=$p50 $errs"
  done
  kill $SP; wait $SP 2>/dev/null || true; SP=
done
