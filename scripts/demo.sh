#!/usr/bin/env bash
# `make demo`: starts Keelson on configs/demo.yaml (embedded SQLite under var/), sends it a few
# real signed WooCommerce webhooks so there is something to look at, and keeps serving until
# Ctrl-C. Usage: scripts/demo.sh PATH_TO_KEELSON_BINARY
set -euo pipefail
KEELSON=${1:?usage: demo.sh PATH_TO_KEELSON}
cd "$(dirname "$0")/.."
CONFIG=configs/demo.yaml
SECRET=${WOO_WEBHOOK_SECRET:-demo-secret}
BASE=http://127.0.0.1:8080
mkdir -p var

"$KEELSON" check-config --config "$CONFIG"
"$KEELSON" serve --config "$CONFIG" --ready-file var/demo.ready &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 100); do
  [ -s var/demo.ready ] && break
  kill -0 $PID 2>/dev/null || { echo "keelson did not start (is port 8080 free?)" >&2; exit 2; }
  sleep 0.1
done

send() {  # send TOPIC FILE
  local sig
  sig=$(openssl dgst -sha256 -hmac "$SECRET" -binary < "$2" | base64)
  curl -s -X POST "$BASE/v1/webhooks/woocommerce/main" \
    -H "Content-Type: application/json" -H "X-WC-Webhook-Topic: $1" \
    -H "X-WC-Webhook-Signature: $sig" --data-binary @"$2"
  echo
}
echo
echo "== sending sample webhooks (a real WooCommerce order, its identical order.updated, a trash notice, a broken body)"
send order.created testdata/woocommerce/peer-order.json
send order.updated testdata/woocommerce/peer-order.json
send order.deleted testdata/woocommerce/order.deleted.body.json
printf '{"id": 9, "oops' > var/broken.json
send order.created var/broken.json
sleep 1
cat <<MSG

== Keelson is running on $BASE  (Ctrl-C to stop)
   timeline of the sample order:  $KEELSON trace main:72841 -c $CONFIG   (or GET $BASE/ops/timeline?entity=order:main:72841)
   dead letters (the broken one):  curl -s $BASE/ops/dead-letters    or  $KEELSON dlq list -c $CONFIG
   replay one:                     $KEELSON dlq replay ID -c $CONFIG
   metrics:                        curl -s $BASE/metrics
   trace by correlation id:        $KEELSON trace CORRELATION_ID -c $CONFIG
   send your own webhook:          body=order.json; sig=\$(openssl dgst -sha256 -hmac $SECRET -binary < \$body | base64)
                                   curl -X POST $BASE/v1/webhooks/woocommerce/main -H "X-WC-Webhook-Topic: order.created" \\
                                        -H "X-WC-Webhook-Signature: \$sig" --data-binary @\$body
MSG
wait $PID
