#!/usr/bin/env bash
# Scale-out benchmark (issue 8): Keelson on PostgreSQL with one node, then two nodes on one fresh
# database each time.
#
#   intake   webhook_load drives signed order.created webhooks (every body distinct) at every
#            node at once, C connections per node, for DUR seconds: accepted/s summed
#   jobs     a backlog of ingest jobs (parse, map, record the order) is made first — one node
#            takes webhooks for DUR seconds and is SIGKILLed — then N fresh nodes start on that
#            database and drain it: jobs/s from their start until no job is queued or running
#
# Usage: PG_ADMIN_DSN="host=127.0.0.1 port=61432 user=keelson dbname=keelson_test" \
#          bench/run_multi_node.sh BUILD_DIR
#   (scripts/test-services.sh run -- env PG_ADMIN_DSN="$KEELSON_TEST_PG_DSN" bench/run_multi_node.sh
#    build/release starts a throwaway PostgreSQL; note that one runs with fsync=off)
# Env: DUR (10), WARMUP (2), C (32 per node), PORT (18580: node k listens on PORT+k)
set -euo pipefail

BUILD_DIR=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEELSON=$BUILD_DIR/keelson
LOAD=$BUILD_DIR/webhook_load
BODY=$HERE/testdata/order.json
DUR=${DUR:-10}
WARMUP=${WARMUP:-2}
C=${C:-32}
PORT=${PORT:-18580}
SECRET=bench-secret
: "${PG_ADMIN_DSN:?set PG_ADMIN_DSN to a PostgreSQL connection string that may CREATE DATABASE}"
command -v psql >/dev/null || { echo "run_multi_node: psql is required" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/keelson-mn.XXXXXX")
PIDS=()
DBS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for db in "${DBS[@]}"; do psql "$PG_ADMIN_DSN" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

pending() {  # pending DSN -> jobs queued or running
  psql "$1" -Atc "select count(*) from jobs where state in ('queued', 'running')"
}

write_config() {  # write_config K DSN
  cat >"$TMP/node$1.yaml" <<EOF
server: {listen: "127.0.0.1:$((PORT + $1))", io_threads: 2}
storage: {engine: postgres, dsn: "$2", pool_size: 8}
stores:
  - {id: main, url: "http://127.0.0.1:1", webhook_secret: "$SECRET"}
jobs: {workers: 8, poll_interval_ms: 20, lease_ms: 2000}
log: {level: warn, format: json}
EOF
}

start_nodes() {  # start_nodes N DSN: starts nodes 0..N-1 and waits until each is ready
  PIDS=()
  local k
  for ((k = 0; k < $1; k++)); do
    write_config "$k" "$2"
    "$KEELSON" serve --config "$TMP/node$k.yaml" >"$TMP/node$k.log" 2>&1 &
    PIDS+=($!)
  done
  for ((k = 0; k < $1; k++)); do
    for _ in $(seq 300); do
      [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((PORT + k))/readyz") == 200 ]] && break
      sleep 0.1
    done
  done
}

stop_nodes() {  # stop_nodes SIGNAL
  for p in "${PIDS[@]}"; do kill "-$1" "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

new_db() {  # new_db NAME -> its DSN
  psql "$PG_ADMIN_DSN" -qc "CREATE DATABASE $1" >/dev/null
  DBS+=("$1")
  echo "$PG_ADMIN_DSN dbname=$1"
}

intake() {  # intake N: every node takes webhooks at once
  local n=$1 dsn k line accepted=0
  dsn=$(new_db "keelson_bench_in_${n}_$$")
  start_nodes "$n" "$dsn"
  local loads=()
  for ((k = 0; k < n; k++)); do
    "$LOAD" --url "http://127.0.0.1:$((PORT + k))/v1/webhooks/woocommerce/main" --secret "$SECRET" \
      --body "$BODY" --concurrency "$C" --duration "$DUR" --warmup "$WARMUP" \
      --json-out "$TMP/in$n.$k.jsonl" >"$TMP/in$n.$k.out" 2>&1 &
    loads+=($!)
  done
  for p in "${loads[@]}"; do wait "$p"; done
  for ((k = 0; k < n; k++)); do
    line=$(tail -n 1 "$TMP/in$n.$k.jsonl")
    accepted=$((accepted + $(grep -o '"accepted":[0-9]*' <<<"$line" | cut -d: -f2)))
    echo "  node $k: $line"
  done
  stop_nodes TERM
  awk -v n="$n" -v a="$accepted" -v d="$DUR" 'BEGIN {
    printf "SUMMARY intake nodes=%d accepted_per_s=%.0f\n", n, a / d }'
}

jobs() {  # jobs N: N nodes drain a backlog made by one node that was then killed
  local n=$1 dsn backlog t0 t1
  dsn=$(new_db "keelson_bench_jobs_${n}_$$")
  start_nodes 1 "$dsn"
  "$LOAD" --url "http://127.0.0.1:$PORT/v1/webhooks/woocommerce/main" --secret "$SECRET" \
    --body "$BODY" --concurrency 64 --duration "$DUR" --warmup 0 >"$TMP/fill$n.out" 2>&1
  stop_nodes KILL
  sleep 2.5  # the killed node's leases (2 s) run out
  backlog=$(pending "$dsn")
  t0=$(date +%s.%N)
  start_nodes "$n" "$dsn"
  while [[ $(pending "$dsn") -gt 0 ]]; do sleep 0.05; done
  t1=$(date +%s.%N)
  stop_nodes TERM
  awk -v n="$n" -v b="$backlog" -v t0="$t0" -v t1="$t1" 'BEGIN {
    printf "SUMMARY jobs nodes=%d backlog=%d drain_s=%.2f jobs_per_s=%.0f (start-up included)\n",
      n, b, t1 - t0, b / (t1 - t0) }'
}

echo "== intake, one node"
intake 1
echo "== intake, two nodes"
intake 2
echo "== jobs, one node"
jobs 1
echo "== jobs, two nodes"
jobs 2
