#!/usr/bin/env bash
# Intake benchmark: starts `keelson serve` on a fresh SQLite file (or on PostgreSQL, with PG_DSN),
# sends signed WooCommerce order.created webhooks to it with webhook_load (every body distinct, so
# every accept is a durable insert), and prints one SUMMARY line per run. See bench/README.md.
#
# Usage: bench/run_intake.sh BUILD_DIR        (what `make bench` runs)
# Env:   DUR     measured seconds per run (default 10); the bad-signature run is always 5 s
#        WARMUP  warm-up seconds before each measured run (default 2)
#        PORT    listen port for the temporary server (default 18480)
#        LOAD    path of the load driver (default BUILD_DIR/webhook_load)
#        OUT     if set, the SUMMARY JSON lines are also appended to this file
#        JOURNAL 0 = SQLite without the intake journal (storage.intake_journal: false); default 1
#        PG_DSN  if set, storage.engine postgres with this DSN instead of SQLite; use a throwaway
#                database (Keelson's tables are created in it and the runs add rows)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEELSON=$BUILD_DIR/keelson
LOAD=${LOAD:-$BUILD_DIR/webhook_load}
BODY=$HERE/testdata/order.json
DUR=${DUR:-10}
WARMUP=${WARMUP:-2}
PORT=${PORT:-18480}
SECRET=bench-secret
BASE=http://127.0.0.1:$PORT
URL=$BASE/v1/webhooks/woocommerce/main

for exe in "$KEELSON" "$LOAD"; do
  if [[ ! -x $exe ]]; then
    echo "run_intake: $exe not found or not executable (build first: make build)" >&2
    exit 1
  fi
done
if [[ ! -f $BODY ]]; then
  echo "run_intake: $BODY is missing" >&2
  exit 1
fi
if ! command -v curl >/dev/null; then
  echo "run_intake: curl is required" >&2
  exit 1
fi
# Refuse to measure whatever else might be listening on the port.
if curl -s -o /dev/null --max-time 1 "$BASE/readyz"; then
  echo "run_intake: something already answers on 127.0.0.1:$PORT; stop it or set PORT" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/keelson-bench.XXXXXX")
DB=$TMP/bench.db
SERVER_PID=""

# Sends SIGTERM, then SIGKILL if the server is still running 10 s later. Prints how it went.
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  local pid=$SERVER_PID status=0 t0 t1 killed=""
  SERVER_PID=""
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    killed=" (did not stop within 10 s of SIGTERM: sent SIGKILL)"
  fi
  wait "$pid" 2>/dev/null || status=$?
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v s="$status" -v k="$killed" \
    'BEGIN { printf "server stopped %.2f s after SIGTERM, exit status %d%s\n", b - a, s, k }'
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n ${PG_DSN:-} ]]; then
  STORAGE="{engine: postgres, dsn: \"$PG_DSN\"}"
  WHERE="PostgreSQL"
else
  STORAGE="{engine: sqlite, path: \"$DB\", intake_journal: $([[ ${JOURNAL:-1} == 0 ]] && echo false || echo true)}"
  WHERE="db $DB, intake journal ${JOURNAL:-1}"
fi
cat >"$TMP/keelson.yaml" <<EOF
server: {listen: "127.0.0.1:$PORT", io_threads: 2}
storage: $STORAGE
stores:
  - {id: main, url: "http://127.0.0.1:1", webhook_secret: "$SECRET"}
log: {level: warn, format: json}
EOF

echo "run_intake: starting $KEELSON serve ($WHERE)"
"$KEELSON" serve --config "$TMP/keelson.yaml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 200); do  # 200 x 0.1 s = 20 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run_intake: the server exited before it was ready; its log:" >&2
    tail -n 30 "$TMP/server.log" >&2 || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    exit 1
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/readyz" || true)
  if [[ $code == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ -z $ready ]]; then
  echo "run_intake: GET /readyz did not answer 200 within 20 s; server log:" >&2
  tail -n 30 "$TMP/server.log" >&2 || true
  exit 1
fi

LABELS=()
LINES=()
run() {  # run LABEL webhook_load-args...
  local label=$1
  shift
  echo
  echo "== $label"
  "$LOAD" --url "$URL" --secret "$SECRET" --body "$BODY" --json-out "$TMP/summary.jsonl" "$@"
  LABELS+=("$label")
  LINES+=("$(tail -n 1 "$TMP/summary.jsonl")")
}
run "c=16" --concurrency 16 --duration "$DUR" --warmup "$WARMUP"
run "c=64" --concurrency 64 --duration "$DUR" --warmup "$WARMUP"
run "c=16 bad-signature" --concurrency 16 --duration 5 --warmup 0 --bad-signature 1

field() {  # field NAME JSON_LINE -> the integer value of "NAME" in the line
  grep -o "\"$1\":[0-9]*" <<<"$2" | head -n 1 | cut -d: -f2
}

echo
echo "== results (measured ${DUR} s per run after a ${WARMUP} s warm-up; bad-signature run 5 s)"
for i in "${!LINES[@]}"; do
  printf '%-20s SUMMARY %s\n' "${LABELS[$i]}" "${LINES[$i]}"
done
if [[ -n ${OUT:-} ]]; then
  printf '%s\n' "${LINES[@]}" >>"$OUT"
fi

accepted=$(($(field accepted "${LINES[0]}") + $(field accepted "${LINES[1]}")))
if [[ $(field accepted "${LINES[2]}") != 0 ]]; then
  echo "WARNING: the server accepted requests with a wrong signature"
fi
if [[ $(field accepted "${LINES[0]}") == 0 || $(field accepted "${LINES[1]}") == 0 ]]; then
  echo "WARNING: a run had no accepted requests (see its status breakdown above)"
fi

# Counted while the server still runs (SQLite readers do not block the writer). The table does not
# exist until the server's storage creates it; the count then reads "n/a".
if [[ -n ${PG_DSN:-} ]]; then
  if command -v psql >/dev/null; then
    rows=$(psql "$PG_DSN" -Atc "select count(*) from inbox" 2>/dev/null) || rows="n/a"
  else
    rows="n/a, psql not installed"
  fi
elif command -v sqlite3 >/dev/null; then
  rows=$(sqlite3 "$DB" "select count(*) from inbox" 2>/dev/null) || rows="n/a, no inbox table"
else
  rows="n/a, sqlite3 not installed"
fi
echo "inbox rows: $rows (accepted in the two measured windows: $accepted; warm-ups and" \
  "requests still in flight at each run's end add rows)"

log_lines=$(wc -l <"$TMP/server.log")
echo "server log: $log_lines lines (log level warn)"
if [[ $log_lines -gt 0 ]]; then
  tail -n 5 "$TMP/server.log"
fi
stop_server
