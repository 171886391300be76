#!/bin/bash
# bench/webhook — signed status webhooks posted by wrk to `carewire serve`.
# Measures (1) the most durable events/s the server takes, and (2) latency
# percentiles at an offered 5,000/s. Writes bench/results/webhook.txt.
# Bars (DESIGN.md §8): >= 20,000 durable events/s on 2 cores; p99 <= 20 ms at 5,000/s.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${CAREWIRE_BIN:-build/carewire}
DUR=${DUR:-10}
[ -x "$BIN" ] || { echo "build first: $BIN missing"; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps"; exit 1; }
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
PORT=$((20000 + RANDOM % 20000))
SECRET=bench-secret
export CAREWIRE_SERVER_LISTEN=127.0.0.1:$PORT CAREWIRE_STORE_URL=sqlite:$TMP/bench.db
export CAREWIRE_WHATSAPP_APP_SECRET=$SECRET CAREWIRE_WHATSAPP_GRAPH_URL=http://127.0.0.1:9
export CAREWIRE_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
export CAREWIRE_LOG_LEVEL=warn CAREWIRE_SERVER_THREADS=${THREADS:-4}
"$BIN" serve >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

python3 bench/webhook/gen.py $SECRET 2000 "$TMP/max.lua"
python3 bench/webhook/gen.py $SECRET 2000 "$TMP/rate.lua" 5000 50

echo "== max throughput (wrk -t2 -c${CONNS:-128} -d${DUR}s)"
MAX=$(wrk -t2 -c${CONNS:-128} -d${DUR}s -s "$TMP/max.lua" "http://127.0.0.1:$PORT" | grep RESULT)
echo "$MAX"
echo "== offered 5,000/s (wrk -t2 -c50 -d${DUR}s, 10 ms between requests per connection)"
RATE=$(wrk -t2 -c50 -d${DUR}s -s "$TMP/rate.lua" "http://127.0.0.1:$PORT" | grep RESULT)
echo "$RATE"
STORED=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from webhook_log').fetchone()[0])" "$TMP/bench.db")

val() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
mreq=$(val "$MAX" requests); mdur=$(val "$MAX" duration_us)
rreq=$(val "$RATE" requests); rdur=$(val "$RATE" duration_us)
mkdir -p bench/results
{
	echo "# bench/webhook — $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -m)"
	echo "# wrk posting signed status webhooks (one event per body) to carewire serve (SQLite, WAL, synchronous=FULL, group commit)"
	echo "max_throughput_events_per_s $(( mreq * 1000000 / mdur ))"
	echo "max_throughput_p50_ms $(awk "BEGIN{print $(val "$MAX" p50_us)/1000}")"
	echo "max_throughput_p99_ms $(awk "BEGIN{print $(val "$MAX" p99_us)/1000}")"
	echo "max_throughput_non2xx $(val "$MAX" errors_status)"
	echo "at_5000_offered_events_per_s $(( rreq * 1000000 / rdur ))"
	echo "at_5000_p50_ms $(awk "BEGIN{print $(val "$RATE" p50_us)/1000}")"
	echo "at_5000_p90_ms $(awk "BEGIN{print $(val "$RATE" p90_us)/1000}")"
	echo "at_5000_p99_ms $(awk "BEGIN{print $(val "$RATE" p99_us)/1000}")"
	echo "at_5000_max_ms $(awk "BEGIN{print $(val "$RATE" max_us)/1000}")"
	echo "bodies_durable_in_webhook_log $STORED"
	echo "requests_answered_200 $(( mreq + rreq - $(val "$MAX" errors_status) - $(val "$RATE" errors_status) ))"
} | tee bench/results/webhook.txt
