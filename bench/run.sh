#!/usr/bin/env bash
# bench/run.sh (`make bench`): produce and consume throughput of Skiff and of
# franz-go's kfake (an in-memory broker) in the same run, and the ratio.
#
# Method
# - Builds skiff (./cmd/skiff), bench/cmd/kfake, bench/cmd/skiff-load and
#   bench/cmd/bench-report into a temp dir.
# - ROUNDS rounds (default 3). Each round measures both brokers, in turn (odd
#   rounds kfake first, even rounds skiff first, so a drift in the machine's
#   load does not favour one), each as a fresh process on a free loopback port:
#   kfake with empty memory; `skiff server --data-dir <fresh dir>
#   --metrics-listen ''`, persisting to Pebble.
# - Both get the same load, one skiff-load process: RECORDS (5,000,000)
#   records of RECORD_SIZE (100) bytes into a new topic of PARTITIONS (6)
#   partitions, acks=ACKS (all: franz-go's default idempotent producer),
#   PRODUCERS (1) producer client, COMPRESSION (none), franz-go's default
#   linger, async Produce with a callback, MaxBufferedRecords 262144; then
#   every record consumed back from offset 0 by direct partition consumption.
#   skiff-load fails the run unless every record is acknowledged, read back in
#   dense offsets, and the partitions hold exactly RECORDS records.
#   With 5 M records each phase takes 2-6 s here, so three rounds give about
#   10 s or more of each phase per broker.
# - The machine is shared (2 cores, other people compiling): before each run
#   the script waits, up to IDLE_WAIT (120) seconds, until the CPU is less
#   than IDLE_BUSY (25) % busy over one second, and records the 1-minute load
#   average. skiff-load reports, per phase, the CPU seconds of the broker, of
#   itself and of everything else on the machine ("others"): a run where
#   others took more than DISTURBED (0.2) cores on average in either phase
#   was disturbed: it is discarded and run again, up to RETRIES (3) times,
#   after which the last attempt is kept, marked disturbed (* in the table),
#   and left out of the medians unless every run of that broker was disturbed.
# - The table shows every run and the median per broker; the ratio is
#   median(Skiff) / median(kfake) for records/s of each phase. MB/s counts
#   record value bytes (records x record size / 1e6 / s). The same figures,
#   every run's full skiff-load result and the machine (nproc, CPU model,
#   kernel, date, Go version, commit) go to OUT
#   (bench/results/bench-latest.json).
#
# Settings by environment: ROUNDS RECORDS RECORD_SIZE PARTITIONS ACKS PRODUCERS
# COMPRESSION IDLE_WAIT IDLE_BUSY DISTURBED RETRIES OUT KEEP_TMP=1 (keep the temp dir and logs)
# PROFILE=1 PROFILE_SECONDS (an extra, uncounted skiff run with a CPU profile).
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
RECORDS=${RECORDS:-5000000}
RECORD_SIZE=${RECORD_SIZE:-100}
PARTITIONS=${PARTITIONS:-6}
ACKS=${ACKS:-all}
PRODUCERS=${PRODUCERS:-1}
COMPRESSION=${COMPRESSION:-none}
IDLE_WAIT=${IDLE_WAIT:-120}
IDLE_BUSY=${IDLE_BUSY:-25}
DISTURBED=${DISTURBED:-0.2}
RETRIES=${RETRIES:-3}
OUT=${OUT:-bench/results/bench-latest.json}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench.XXXXXX")
broker_pid=""
cleanup() {
	if [[ -n $broker_pid ]]; then kill -TERM "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
	if [[ ${KEEP_TMP:-} == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The machine and the code measured, taken before building (others may commit meanwhile).
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
machine="nproc=$(nproc);cpu=$cpu;memory_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo);kernel=$(uname -r)"
machine+=";date=$(date -u +%Y-%m-%dT%H:%M:%SZ);go=$(go env GOVERSION);commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if git diff --quiet HEAD -- . 2>/dev/null; then machine+=";tree=clean"; else machine+=";tree=uncommitted changes"; fi

echo "building into $tmp"
CGO_ENABLED=0 go build -o "$tmp/skiff" ./cmd/skiff
go build -o "$tmp/kfake" ./bench/cmd/kfake
go build -o "$tmp/skiff-load" ./bench/cmd/skiff-load
go build -o "$tmp/bench-report" ./bench/cmd/bench-report

# cpu_busy_percent prints how busy all cores were over the next second.
cpu_busy_percent() {
	local a b
	read -r -a a < /proc/stat
	sleep 1
	read -r -a b < /proc/stat
	local busy=$(( (b[1]+b[2]+b[3]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[6]+a[7]+a[8]) ))
	local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
	echo $(( 100 * busy / (busy + idle + 1) ))
}

# wait_idle waits until the machine is quiet and sets waited (seconds).
wait_idle() {
	local start=$SECONDS busy
	while busy=$(cpu_busy_percent); (( busy >= IDLE_BUSY )); do
		if (( SECONDS - start >= IDLE_WAIT )); then
			echo "  machine still ${busy}% busy after ${IDLE_WAIT}s; running anyway (see others' CPU)" >&2
			break
		fi
	done
	waited=$(( SECONDS - start ))
}

free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 40000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
}

# wait_for_line waits up to 15 s for a line matching $2 in file $1.
wait_for_line() {
	local i
	for (( i = 0; i < 150; i++ )); do
		if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
		if ! kill -0 "$broker_pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "broker did not become ready; its output:" >&2
	cat "$1" >&2
	return 1
}

start_kfake() {
	local log=$tmp/kfake-$round.log
	"$tmp/kfake" --port 0 --partitions "$PARTITIONS" > "$log" 2>&1 &
	broker_pid=$!
	wait_for_line "$log" "listening on"
	addr=$(awk '/listening on/ {print $4; exit}' "$log")
}

start_skiff() {
	local log=$tmp/skiff-$round.log
	addr=127.0.0.1:$(free_port)
	data=$tmp/data-$round
	"$tmp/skiff" server --listen "$addr" --data-dir "$data" --metrics-listen '' > "$log" 2>&1 &
	broker_pid=$!
	wait_for_line "$log" "msg=ready"
}

stop_broker() {
	kill -TERM "$broker_pid"
	wait "$broker_pid" || true
	broker_pid=""
}

# measure runs the load against broker $1 and appends one line to runs.jsonl,
# retrying a run that other processes disturbed (up to RETRIES times).
measure() {
	local broker=$1 attempt others disturbed=false
	for (( attempt = 0; ; attempt++ )); do
		measure_once "$broker"
		others=$("$tmp/bench-report" --disturbed "$DISTURBED" <<< "$out") && break
		if (( attempt >= RETRIES )); then
			echo "  others used $others cores (produce/consume) in every attempt; keeping the last, marked disturbed"
			disturbed=true
			break
		fi
		echo "  others used $others cores (produce/consume), over $DISTURBED: discarding, retrying"
	done
	printf '{"broker":"%s","round":%d,"load1_before":%s,"waited_s":%d,"attempt":%d,"others_cores":"%s","disturbed":%s,"rss_kb":%d,"disk_kb":%d,"result":%s}\n' \
		"$broker" "$round" "$load1" "$waited" "$attempt" "$others" "$disturbed" "$rss" "$disk" "$out" >> "$tmp/runs.jsonl"
}

# measure_once starts broker $1, runs skiff-load against it and stops it,
# setting out (the result), load1, rss and disk.
measure_once() {
	local broker=$1
	disk=0
	wait_idle
	"start_$broker"
	load1=$(cut -d' ' -f1 /proc/loadavg)
	printf '  round %d %-6s load %s (waited %ss) ... ' "$round" "$broker" "$load1" "$waited"
	if ! out=$("$tmp/skiff-load" --brokers "$addr" --topic bench --partitions "$PARTITIONS" \
		--records "$RECORDS" --record-size "$RECORD_SIZE" --acks "$ACKS" --producers "$PRODUCERS" \
		--compression "$COMPRESSION" --consume --json --label "$broker" --broker-pid "$broker_pid"); then
		echo "FAILED; broker log tail:"
		tail -n 30 "$tmp/$broker-$round.log"
		exit 1
	fi
	rss=$(awk '/^VmHWM/ {print $2}' "/proc/$broker_pid/status")
	if [[ $broker == skiff ]]; then disk=$(du -sk "$data" | cut -f1); fi
	stop_broker
	if [[ $broker == skiff ]]; then rm -rf "$data"; fi
	echo "$out" | sed -E 's/.*"produce":\{"seconds":[^,]*,"records_per_sec":([0-9.]+).*"consume":\{"seconds":[^,]*,"records_per_sec":([0-9.]+).*/produce \1 rec\/s, consume \2 rec\/s/'
}

echo "$ROUNDS rounds of $RECORDS records x $RECORD_SIZE B, $PARTITIONS partitions, acks=$ACKS, $PRODUCERS producer(s), compression $COMPRESSION"
for (( round = 1; round <= ROUNDS; round++ )); do
	if (( round % 2 == 1 )); then measure kfake; measure skiff; else measure skiff; measure kfake; fi
done
echo

settings="rounds=$ROUNDS;records=$RECORDS;record_size=$RECORD_SIZE;partitions=$PARTITIONS;acks=$ACKS;producers=$PRODUCERS;compression=$COMPRESSION"
method="each round: fresh kfake and fresh skiff (new data dir) on loopback, one skiff-load process each with identical settings, produce then consume from offset 0; medians over rounds; ratio = median skiff / median kfake records/s"
mkdir -p "$(dirname "$OUT")"
"$tmp/bench-report" --out "$OUT" --machine "$machine" --settings "$settings" --method "$method" < "$tmp/runs.jsonl"
echo "machine: $(nproc) cores, $cpu; written to $OUT"

# PROFILE=1: one more skiff run, not counted above, with a CPU profile of the
# server taken from its /debug/pprof during PROFILE_SECONDS of the produce phase.
if [[ ${PROFILE:-} == 1 ]]; then
	prof=$(dirname "$OUT")/skiff-produce-profile
	metrics=127.0.0.1:$(free_port)
	addr=127.0.0.1:$(free_port)
	data=$tmp/data-profile
	round=profile
	"$tmp/skiff" server --listen "$addr" --data-dir "$data" --metrics-listen "$metrics" > "$tmp/skiff-profile.log" 2>&1 &
	broker_pid=$!
	wait_for_line "$tmp/skiff-profile.log" "msg=ready"
	(sleep 0.5; curl -sf -o "$prof.pprof" "http://$metrics/debug/pprof/profile?seconds=${PROFILE_SECONDS:-3}") &
	curl_pid=$!
	profiled_run=$("$tmp/skiff-load" --brokers "$addr" --topic bench --partitions "$PARTITIONS" --records "$RECORDS" \
		--record-size "$RECORD_SIZE" --acks "$ACKS" --producers "$PRODUCERS" --compression "$COMPRESSION" \
		--broker-pid "$broker_pid")
	sed 's/^/  profiled run: /' <<< "$profiled_run"
	profiled=1
	wait "$curl_pid" || profiled=0
	stop_broker
	if (( ! profiled )); then
		echo "no CPU profile: http://$metrics/debug/pprof/profile did not answer (does this skiff serve /debug/pprof?)"
	else
	{
		echo "# CPU profile of skiff during the produce phase of an extra run (PROFILE=1 bench/run.sh)"
		echo "# machine: $machine"
		echo "# settings: $settings"
		sed 's/^/# profiled run: /' <<< "$profiled_run"
		go tool pprof -top -nodecount=40 "$tmp/skiff" "$prof.pprof" 2>/dev/null
	} > "$prof.txt"
	echo "CPU profile of skiff while producing: $prof.pprof, top functions in $prof.txt"
	head -n 25 "$prof.txt"
	fi
fi
