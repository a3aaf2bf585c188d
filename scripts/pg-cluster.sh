#!/usr/bin/env bash
# Throwaway PostgreSQL 15 clusters for tests.
#
#   scripts/pg-cluster.sh init DIR [durable]
#                                      create a cluster in DIR (must not exist), start it on a
#                                      free port, print its admin URL
#   scripts/pg-cluster.sh start DIR    start it again (same port)
#   scripts/pg-cluster.sh stop DIR     stop it (fast shutdown: open sessions are cut)
#   scripts/pg-cluster.sh crash DIR    stop it as a crash would: immediate shutdown, no
#                                      checkpoint; the next start replays the WAL
#   scripts/pg-cluster.sh destroy DIR  stop it and delete DIR
#
# PostgreSQL refuses to run as root; as root the cluster runs as the unprivileged user
# $PG_CLUSTER_USER (default identity-pg, created when missing). The cluster trusts local
# connections: it is for tests only. By default it also skips fsync and commits
# asynchronously, for speed; with `durable` it keeps PostgreSQL's durable defaults
# (fsync, synchronous_commit, full_page_writes all on), for the crash test.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CLUSTER_USER=${PG_CLUSTER_USER:-identity-pg}

usage() {
    echo "usage: $0 init DIR [durable] | start|stop|crash|destroy DIR" >&2
    exit 2
}

[[ $# -eq 2 || ($# -eq 3 && $1 == init && $3 == durable) ]] || usage
command=$1
dir=$2
durability=${3:-fast}

# Runs a command as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$PG_CLUSTER_USER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local port
    port=$(cat "$dir/port")
    as_owner "$PG_BIN/pg_ctl" --silent -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

stop() {
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        # Immediate mode when a fast shutdown stalls (a test may leave a backend stopped).
        as_owner "$PG_BIN/pg_ctl" --silent -D "$dir/data" -m fast -w -t 30 stop >/dev/null ||
            as_owner "$PG_BIN/pg_ctl" --silent -D "$dir/data" -m immediate -w -t 30 stop >/dev/null
    fi
}

case $command in
init)
    [[ ! -e $dir ]] || { echo "$dir already exists" >&2; exit 1; }
    if [[ $(id -u) -eq 0 ]] && ! id "$PG_CLUSTER_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_CLUSTER_USER"
    fi
    mkdir -p "$dir"
    free_port >"$dir/port"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R "$PG_CLUSTER_USER" "$dir"
    fi
    as_owner "$PG_BIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    if [[ $durability == durable ]]; then
        cat >>"$dir/data/postgresql.conf" <<'CONF'
# Throwaway test cluster, durable: a commit is acknowledged once its WAL is on disk.
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
    else
        cat >>"$dir/data/postgresql.conf" <<'CONF'
# Throwaway test cluster: speed over durability.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    fi
    cat >>"$dir/data/postgresql.conf" <<'CONF'
max_connections = 400
shared_buffers = 64MB
CONF
    start
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
    ;;
start) start ;;
stop) stop ;;
crash)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$PG_BIN/pg_ctl" --silent -D "$dir/data" -m immediate -w -t 30 stop >/dev/null
    fi
    ;;
destroy)
    stop || true
    rm -rf "$dir"
    ;;
*) usage ;;
esac
