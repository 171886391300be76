#!/bin/bash
# bench/webhook — signed status webhooks posted by wrk to `carewire serve`.
# Measures (1) the most durable events/s the server takes (wrk -c$CONNS, each
# connection sends again as soon as it is answered) and (2) latency
# percentiles at an offered $RATE/s (default 5,000: wrk sends on a fixed
# schedule, see gen.py), each phase on a fresh server and database, so the
# second does not start behind the first's backlog of unprocessed bodies.
# RUNS rounds (default 3); the results are the medians, with every round and
# the machine's load average listed. Writes bench/results/webhook.txt.
# Bars (DESIGN.md §8): >= 20,000 durable events/s on 2 cores; p99 <= 20 ms at 5,000/s.
#
#   CAREWIRE_BIN=build/carewire  DUR=10 (s per phase)  RUNS=3  CONNS=128
#   RATE=5000  RCONNS=100 (connections of the rate phase)
#   THREADS=N sets [server] threads (default: the configured default)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${CAREWIRE_BIN:-build/carewire}
DUR=${DUR:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-128}
RATE=${RATE:-5000}
RCONNS=${RCONNS:-100}
[ -x "$BIN" ] || { echo "build first: $BIN missing"; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps"; exit 1; }
TMP=$(mktemp -d)
PID=
trap 'stop_server; rm -rf "$TMP"' EXIT
SECRET=bench-secret
export CAREWIRE_WHATSAPP_APP_SECRET=$SECRET CAREWIRE_WHATSAPP_GRAPH_URL=http://127.0.0.1:9
export CAREWIRE_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
export CAREWIRE_LOG_LEVEL=warn
[ -n "${THREADS:-}" ] && export CAREWIRE_SERVER_THREADS=$THREADS

# Starts carewire serve on a fresh database in $TMP/$1. The port is taken
# below Linux's ephemeral range (32768+), where wrk's own sockets live.
start_server() {
	local dir=$TMP/$1
	for _ in 1 2 3 4 5; do
		PORT=$((20000 + RANDOM % 12000))
		rm -rf "$dir"
		mkdir -p "$dir"
		CAREWIRE_SERVER_LISTEN=127.0.0.1:$PORT CAREWIRE_STORE_URL=sqlite:$dir/bench.db \
			"$BIN" serve >"$dir/serve.log" 2>&1 &
		PID=$!
		for _ in $(seq 300); do
			curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
			kill -0 $PID 2>/dev/null || break
			sleep 0.1
		done
		stop_server
	done
	echo "carewire serve did not start:" >&2
	cat "$dir/serve.log" >&2
	exit 1
}

# Stops the server and waits for it to be gone (it finishes the ingest
# worker's round first), so that the next phase has the machine to itself.
stop_server() {
	[ -n "$PID" ] || return 0
	kill $PID 2>/dev/null || true
	wait $PID 2>/dev/null || true
	PID=
}

metric() { echo "$METRICS" | awk -v k="$1" '$1 == k {print $2}'; }
val() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
rows() {
	python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from webhook_log').fetchone()[0])" "$1"
}

python3 bench/webhook/gen.py $SECRET 2000 "$TMP/max.lua"
python3 bench/webhook/gen.py $SECRET 2000 "$TMP/rate.lua" "$RATE" 2

declare -a M_EPS M_P50 M_P99 R_EPS R_P50 R_P90 R_P99 R_MAX LOADS ROUNDS
STORED=0
ANSWERED=0
for r in $(seq "$RUNS"); do
	LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
	start_server "max$r"
	MAX=$(wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$TMP/max.lua" "http://127.0.0.1:$PORT" | grep RESULT)
	METRICS=$(curl -s "http://127.0.0.1:$PORT/metrics")
	m_acc=$(metric carewire_webhooks_accepted_total)
	m_proc=$(metric carewire_webhooks_processed_total)
	m_commits=$(metric carewire_store_commits_total)
	stop_server
	STORED=$((STORED + $(rows "$TMP/max$r/bench.db")))

	start_server "rate$r"
	RT=$(wrk -t2 -c"$RCONNS" -d"${DUR}s" -s "$TMP/rate.lua" "http://127.0.0.1:$PORT" | grep RESULT)
	METRICS=$(curl -s "http://127.0.0.1:$PORT/metrics")
	r_acc=$(metric carewire_webhooks_accepted_total)
	r_proc=$(metric carewire_webhooks_processed_total)
	stop_server
	STORED=$((STORED + $(rows "$TMP/rate$r/bench.db")))

	mreq=$(val "$MAX" requests); mdur=$(val "$MAX" duration_us)
	rreq=$(val "$RT" requests); rdur=$(val "$RT" duration_us)
	ANSWERED=$((ANSWERED + mreq + rreq - $(val "$MAX" errors_status) - $(val "$RT" errors_status)))
	M_EPS+=($((mreq * 1000000 / mdur))); M_P50+=($(val "$MAX" p50_us)); M_P99+=($(val "$MAX" p99_us))
	R_EPS+=($((rreq * 1000000 / rdur))); R_P50+=($(val "$RT" p50_us)); R_P90+=($(val "$RT" p90_us))
	R_P99+=($(val "$RT" p99_us)); R_MAX+=($(val "$RT" max_us))
	LOADS+=("$LOAD")
	line="# round $r (load average $LOAD): max ${M_EPS[-1]}/s p99 $(awk "BEGIN{print ${M_P99[-1]}/1000}") ms,"
	line+=" $((m_acc / (m_commits > 0 ? m_commits : 1))) bodies per commit, $m_proc of $m_acc applied meanwhile;"
	line+=" at $RATE offered: ${R_EPS[-1]}/s p50 $(awk "BEGIN{print ${R_P50[-1]}/1000}") ms"
	line+=" p99 $(awk "BEGIN{print ${R_P99[-1]}/1000}") ms, $r_proc of $r_acc applied meanwhile"
	ROUNDS+=("$line")
	echo "$line"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk "BEGIN{print $1/1000}"; }
mkdir -p bench/results
{
	echo "# bench/webhook — $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -m); medians of $RUNS rounds"
	echo "# wrk posting signed status webhooks (one event per body) to carewire serve (SQLite, WAL, synchronous=FULL, group commit)"
	echo "# max: wrk -t2 -c$CONNS -d${DUR}s; rate: $RATE/s offered on a schedule, wrk -t2 -c$RCONNS -d${DUR}s; each phase on a fresh server"
	echo "# the machine is shared: load average (1, 5, 15 min) at the start of each round is listed below"
	printf '%s\n' "${ROUNDS[@]}"
	echo "max_throughput_events_per_s $(median "${M_EPS[@]}")"
	echo "max_throughput_p50_ms $(ms "$(median "${M_P50[@]}")")"
	echo "max_throughput_p99_ms $(ms "$(median "${M_P99[@]}")")"
	echo "at_${RATE}_offered_events_per_s $(median "${R_EPS[@]}")"
	echo "at_${RATE}_p50_ms $(ms "$(median "${R_P50[@]}")")"
	echo "at_${RATE}_p90_ms $(ms "$(median "${R_P90[@]}")")"
	echo "at_${RATE}_p99_ms $(ms "$(median "${R_P99[@]}")")"
	echo "at_${RATE}_max_ms $(ms "$(median "${R_MAX[@]}")")"
	echo "bodies_durable_in_webhook_log $STORED"
	echo "requests_answered_200 $ANSWERED"
} | tee bench/results/webhook.txt
# Every 200 was for a stored body (the stored count may be higher: bodies
# in flight when wrk stopped were stored but not counted by it).
[ "$STORED" -ge "$ANSWERED" ] || { echo "FAIL: more 200s than stored bodies"; exit 1; }
