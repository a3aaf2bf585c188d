#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 cluster, then removes the cluster:
#
#   scripts/with-postgres.sh cargo nextest run
#
# The command sees:
#   IDENTITY_TEST_POSTGRES_URL  admin URL of the cluster; tests create their own databases
#   IDENTITY_TEST_PG_CLUSTER    this repository's scripts/pg-cluster.sh, for tests that
#                               need a private cluster they may stop and start
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/identity-pg.XXXXXX)
rmdir "$dir"
trap '"$here/pg-cluster.sh" destroy "$dir"' EXIT

IDENTITY_TEST_POSTGRES_URL=$("$here/pg-cluster.sh" init "$dir")
export IDENTITY_TEST_POSTGRES_URL
export IDENTITY_TEST_PG_CLUSTER="$here/pg-cluster.sh"
echo "PostgreSQL test cluster at $IDENTITY_TEST_POSTGRES_URL" >&2

status=0
"$@" || status=$?
exit "$status"
