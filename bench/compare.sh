#!/usr/bin/env bash
# bench/compare.sh (`make bench-compare`): Skiff, Apache Kafka and franz-go's
# kfake measured in one run on this machine, one broker at a time, and
# Skiff's ratio to each for every figure.
#
# What is measured, per broker
# - Cold start: from the process start to the first answered ApiVersions
#   request (bench-compare coldstart polls with raw TCP every millisecond),
#   and to the first answered Metadata request. Skiff and kfake are started
#   by this script, which takes the time just before; Kafka by
#   compat-tests/reference/kafka.sh up, after its storage format (a JVM run
#   of its own, not counted), and its start is the java process's start time
#   in /proc (10 ms resolution).
# - Idle RSS: VmRSS once it has settled after the start (changed by less than
#   1% over a second, at least IDLE_SETTLE seconds after the start, at most
#   30 s). Loaded RSS: VmHWM, the peak, after every load run. For Kafka the
#   java process.
# - Install size: the skiff binary and the kfake binary (static, built with
#   -trimpath -ldflags "-s -w" as `make build` does); for Kafka the broker's
#   jars (compat-tests/reference/lib) plus the Java runtime it runs on (the
#   installed size of the Debian JRE package, or the JAVA_HOME directory).
# - Produce throughput with Kafka's kafka-producer-perf-test
#   (ProducerPerformance, Kafka 4.4 client defaults, so linger.ms=5 and 16 KiB
#   batches) and with franz-go (bench/cmd/skiff-load, franz-go defaults), for
#   every combination of record size (100 B, 1 KiB), acks (1, all) and
#   partitions (1, 6), each into a new topic, deleted afterwards. RECORDS_100
#   and RECORDS_1K records per run.
# - Consume throughput with kafka-consumer-perf-test (ConsumerPerformance, in
#   a new group; its rate leaves out the group join) reading the topic that
#   the acks=all perf-test run produced, and with franz-go (skiff-load
#   --consume, direct partition assignment, after its acks=all run).
# - Produce latency at LAT_RATE (20,000) records/s, below saturation of
#   every broker here: LAT_SECONDS of 100-byte records, acks=all, 6
#   partitions, the first second left out (a warm-up: connections, metadata,
#   the JIT), with ProducerPerformance --throughput (whole milliseconds) and
#   skiff-load --rate (100 µs buckets), both with linger 0 so that the
#   clients' batching delay (5 ms and 10 ms by default) does not hide the
#   broker's. p50, p99, p99.9 of the time from send to acknowledgement.
# - Skiff only: a CPU profile (/debug/pprof on --metrics-listen) during an
#   extra, uncounted franz-go produce run of 100-byte records (acks=all, 6
#   partitions); the top 25 functions go to bench/results/skiff-compare-profile.txt.
#
# The machine is shared (2 cores, others compiling): before every run the
# script waits up to IDLE_WAIT seconds (WAIT_BUDGET seconds in all) until the
# CPU is less than IDLE_BUSY % busy; each run reports the CPU the broker, the
# load tool and everybody else used; a run in which others took more than
# DISTURBED cores on average is discarded and run again (up to RETRIES times,
# at most RETRY_BUDGET retries in all), or else kept, marked disturbed and
# left out of the median if another round has an undisturbed one. After
# TIME_BUDGET seconds the script stops waiting and retrying, so a busy
# machine cannot make a run take much longer than that.
#
# Rounds: ROUNDS (1) rounds; each round starts each broker fresh (a new data
# dir, a new Kafka run dir, a new kfake process) and runs everything above
# against it; odd rounds go skiff, kafka, kfake, even rounds the reverse.
# The figures are medians over the rounds.
#
# Skiff is built from the last commit (git archive HEAD), so that others'
# uncommitted edits are not measured; SKIFF_SRC=tree builds the work tree.
#
# Output: bench/results/latest.json (every figure, every run, the machine),
# latest.md (Skiff's ratio to each peer for every figure, whether each target
# is met), latest.svg (throughput and latency per broker), the profile, and
# the README section between <!-- bench-compare:begin --> and
# <!-- bench-compare:end -->.
#
# QUICK=1: small runs, no retries, for developing this script (a few minutes).
# Settings by environment: ROUNDS RECORDS_100 RECORDS_1K LAT_RATE LAT_SECONDS
# IDLE_WAIT WAIT_BUDGET IDLE_BUSY IDLE_SETTLE DISTURBED RETRIES RETRY_BUDGET TIME_BUDGET
# BROKERS ("skiff kafka kfake") SKIFF_SRC OUT_DIR (bench/results) README (README.md;
# empty: leave it) KEEP_TMP=1 (keep the temp dir and the logs).
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ ${QUICK:-} == 1 ]]; then
	defaults=(100000 20000 3 0 0 2 3 20)
else
	defaults=(2000000 300000 15 1 6 30 5 300)
fi
RECORDS_100=${RECORDS_100:-${defaults[0]}}
RECORDS_1K=${RECORDS_1K:-${defaults[1]}}
LAT_SECONDS=${LAT_SECONDS:-${defaults[2]}}
RETRIES=${RETRIES:-${defaults[3]}}
RETRY_BUDGET=${RETRY_BUDGET:-${defaults[4]}}
IDLE_WAIT=${IDLE_WAIT:-${defaults[5]}}
IDLE_SETTLE=${IDLE_SETTLE:-${defaults[6]}}
WAIT_BUDGET=${WAIT_BUDGET:-${defaults[7]}}
ROUNDS=${ROUNDS:-1}
LAT_RATE=${LAT_RATE:-20000}
IDLE_BUSY=${IDLE_BUSY:-25}
DISTURBED=${DISTURBED:-0.25}
TIME_BUDGET=${TIME_BUDGET:-1200}
BROKERS=${BROKERS:-skiff kafka kfake}
OUT_DIR=${OUT_DIR:-bench/results}
README=${README-README.md}
kafka_sh=compat-tests/reference/kafka.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-compare.XXXXXX")
broker="" broker_pid="" kafka_dir=""
cleanup() {
	if declare -F stop_broker >/dev/null; then stop_broker || true; fi
	if [[ ${KEEP_TMP:-} == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

# The machine and the code measured, taken before building (others may commit meanwhile).
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
java_version=$(java -version 2>&1 | head -n 1 | tr -d '"' || echo "no java")
machine="nproc=$(nproc);cpu=$cpu;memory_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo);kernel=$(uname -r)"
machine+=";date=$(date -u +%Y-%m-%dT%H:%M:%SZ);go=$(go env GOVERSION);java=$java_version"
machine+=";kafka=$(ls compat-tests/reference/lib 2>/dev/null | sed -n 's/^kafka_2\.13-\(.*\)\.jar$/\1/p' | head -n 1)"

# Skiff is built from the last commit (others may be editing the work tree),
# unless SKIFF_SRC=tree; the load tools always from the work tree.
log "building into $tmp"
build_tree() {
	machine+=";commit=$(git rev-parse --short HEAD) plus the work tree's changes"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/skiff" ./cmd/skiff
}
if [[ ${SKIFF_SRC:-head} == tree ]]; then
	build_tree
else
	commit=$(git rev-parse --short HEAD)
	mkdir "$tmp/src"
	git archive "$commit" | tar -x -C "$tmp/src"
	if (cd "$tmp/src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/skiff" ./cmd/skiff); then
		machine+=";commit=$commit"
	else
		log "commit $commit does not build (above); measuring the work tree instead"
		build_tree
	fi
	rm -rf "$tmp/src"
fi
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/kfake" ./bench/cmd/kfake
go build -o "$tmp/skiff-load" ./bench/cmd/skiff-load
go build -o "$tmp/bench-compare" ./bench/cmd/bench-compare
if [[ " $BROKERS " == *" kafka "* ]]; then
	log "Kafka's jars (downloaded by Maven the first time)"
	bash "$kafka_sh" fetch
fi
runs=$tmp/runs.jsonl
: >"$runs"

# cpu_busy_percent prints how busy all cores were over the next second.
cpu_busy_percent() {
	local a b
	read -r -a a </proc/stat
	sleep 1
	read -r -a b </proc/stat
	local busy=$(((b[1] + b[2] + b[3] + b[6] + b[7] + b[8]) - (a[1] + a[2] + a[3] + a[6] + a[7] + a[8])))
	local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
	echo $((100 * busy / (busy + idle + 1)))
}

over_budget() { ((SECONDS >= TIME_BUDGET)); }

# wait_idle waits until the machine is quiet, for at most IDLE_WAIT seconds,
# and WAIT_BUDGET seconds over the whole run (not at all once the time budget
# is spent).
waited=0
wait_idle() {
	local start=$SECONDS busy limit=$((IDLE_WAIT < WAIT_BUDGET - waited ? IDLE_WAIT : WAIT_BUDGET - waited))
	over_budget && return 0
	while busy=$(cpu_busy_percent); ((busy >= IDLE_BUSY)); do
		if ((SECONDS - start >= limit)); then
			log "  machine still ${busy}% busy after $((SECONDS - start))s; running anyway (others' CPU is recorded)"
			break
		fi
	done
	waited=$((waited + SECONDS - start))
}

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# ---- brokers: start (measuring the cold start) and stop ----

# start_broker NAME: a fresh broker; sets addr and broker_pid and appends
# the coldstart line.
start_broker() {
	broker=$1
	local cold t0
	case $broker in
	skiff)
		addr=127.0.0.1:$(free_port)
		metrics=127.0.0.1:$(free_port)
		t0=$EPOCHREALTIME
		"$tmp/skiff" server --listen "$addr" --data-dir "$tmp/skiff-data-$round" --metrics-listen "$metrics" \
			>"$tmp/skiff-$round.log" 2>&1 &
		broker_pid=$!
		cold=$("$tmp/bench-compare" coldstart --addr "$addr" --since "$t0")
		;;
	kfake)
		addr=127.0.0.1:$(free_port)
		t0=$EPOCHREALTIME
		"$tmp/kfake" --port "${addr##*:}" --partitions 1 >"$tmp/kfake-$round.log" 2>&1 &
		broker_pid=$!
		cold=$("$tmp/bench-compare" coldstart --addr "$addr" --since "$t0")
		;;
	kafka)
		kafka_dir=$tmp/kafka-$round
		KAFKA_REF_DIR=$kafka_dir KAFKA_REF_WATCH_PID=$$ bash "$kafka_sh" up >"$tmp/kafka-up-$round.log" 2>&1 &
		local up_pid=$!
		cold=$("$tmp/bench-compare" coldstart --pid-file "$kafka_dir/node1/pid" --addr-file "$kafka_dir/bootstrap")
		if ! wait "$up_pid"; then
			cat "$tmp/kafka-up-$round.log" >&2
			return 1
		fi
		addr=$(tail -n 1 "$tmp/kafka-up-$round.log")
		broker_pid=$(cat "$kafka_dir/node1/pid")
		;;
	esac
	log "  $broker on $addr (pid $broker_pid): $cold"
	printf '{"type":"coldstart","broker":"%s","round":%d,"result":%s}\n' "$broker" "$round" "$cold" >>"$runs"
}

stop_broker() {
	[[ -n $broker_pid ]] || return 0
	if [[ $broker == kafka ]]; then
		KAFKA_REF_DIR=$kafka_dir bash "$kafka_sh" down >/dev/null 2>&1 || true
	else
		kill -TERM "$broker_pid" 2>/dev/null || true
		wait "$broker_pid" 2>/dev/null || true
	fi
	broker_pid=""
}

# idle_rss waits until the broker's RSS has settled and prints it (kB).
idle_rss() {
	local start=$SECONDS prev=0 now
	while :; do
		sleep 1
		now=$(rss_kb "$broker_pid" VmRSS)
		if ((SECONDS - start >= IDLE_SETTLE)) && ((prev > 0)) && ((now - prev < prev / 100 && prev - now < prev / 100)); then
			break
		fi
		((SECONDS - start >= 30)) && break
		prev=$now
	done
	echo "$now"
}

# install_size prints the bytes the broker needs on disk, a space, and what they are.
install_size() {
	case $broker in
	skiff) echo "$(stat -c %s "$tmp/skiff") static binary" ;;
	kfake) echo "$(stat -c %s "$tmp/kfake") static binary" ;;
	kafka)
		local jars java pkg jre
		jars=$(cat compat-tests/reference/lib/*.jar | wc -c)
		java=$(readlink -f "$(command -v java)")
		pkg=$(dpkg -S "$java" 2>/dev/null | cut -d: -f1 | head -n 1 || true)
		if [[ $pkg == *jre-headless* ]]; then
			jre=$(($(dpkg-query -W -f '${Installed-Size}' "$pkg") * 1024))
			echo "$((jars + jre)) broker jars $((jars / 1000000)) MB + $pkg $((jre / 1000000)) MB"
		else
			jre=$(du -sb "$(dirname "$(dirname "$java")")" | cut -f1)
			echo "$((jars + jre)) broker jars $((jars / 1000000)) MB + Java home $((jre / 1000000)) MB"
		fi
		;;
	esac
}

# ---- load runs ----

seq=0
retries_used=0

# run_load TEST TOOL SIZE ACKS PARTITIONS RATE CMD...: runs CMD, which prints
# one JSON result, against the current broker and appends a load line. A
# produce or latency run gets a new topic ($topic) per attempt and deletes it
# afterwards unless keep_topic=1; a consume run reads $consume_topic.
run_load() {
	local test=$1 tool=$2 size=$3 acks=$4 parts=$5 rate=$6 attempt others disturbed=false
	shift 6
	for ((attempt = 0; ; attempt++)); do
		# A new id per attempt, taken here: CMD runs in a subshell, where a
		# counter would not count. A consume attempt gets a new group by it.
		run_id=$((++seq))
		if [[ $test == consume ]]; then topic=$consume_topic; else topic=bc-$test-$tool-$size-$acks-p$parts-$run_id; fi
		wait_idle
		printf '%s   %-7s %-9s %-8s %5s B acks=%-3s p=%d ' "$(date +%H:%M:%S)" "$broker" "$tool" "$test" "$size" "$acks" "$parts"
		if ! out=$("$@" 2>"$tmp/last-run.err"); then
			echo "FAILED:"
			tail -n 20 "$tmp/last-run.err"
			echo "last lines of the $broker log:"
			tail -n 20 "$tmp/$broker-$round.log" "$kafka_dir/node1/kafka.log" 2>/dev/null || true
			exit 1
		fi
		others=$("$tmp/bench-compare" disturbed --limit "$DISTURBED" <<<"$out") && break
		if ((attempt >= RETRIES || retries_used >= RETRY_BUDGET)) || over_budget; then
			disturbed=true
			break
		fi
		echo "others used $others cores (> $DISTURBED): discarded, again"
		if [[ $test != consume ]]; then delete_topic "$topic"; fi
		retries_used=$((retries_used + 1))
	done
	summary "$out" "$others"
	if [[ $disturbed == true ]]; then echo "    (others took over $DISTURBED cores in every attempt: kept, marked disturbed)"; fi
	if [[ $test != consume && ${keep_topic:-0} != 1 ]]; then delete_topic "$topic"; fi
	printf '{"type":"load","broker":"%s","round":%d,"tool":"%s","test":"%s","record_size":%d,"acks":"%s","partitions":%d,"rate":%d,"attempt":%d,"others_cores":"%s","disturbed":%s,"result":%s}\n' \
		"$broker" "$round" "$tool" "$test" "$size" "$acks" "$parts" "$rate" "$attempt" "$others" "$disturbed" "$out" >>"$runs"
}

# summary prints a run's figures on the line run_load started.
summary() {
	local p c
	p=$(sed -nE 's/.*"produce":\{"seconds":[^,]*,"records_per_sec":([0-9.]+).*/\1/p' <<<"$1")
	c=$(sed -nE 's/.*"consume":\{"seconds":[^,]*,"records_per_sec":([0-9.]+).*/\1/p' <<<"$1")
	local lat
	lat=$(sed -nE 's/.*"ack_p50_ms":([0-9.]+),"ack_p99_ms":([0-9.]+),"ack_p999_ms":([0-9.]+).*/p50 \1 p99 \2 p99.9 \3 ms/p' <<<"$1")
	echo "${p:+produce $p rec/s }${c:+consume $c rec/s }${lat:+($lat) }others $2 cores"
}

delete_topic() { "$tmp/skiff-load" --brokers "$addr" --topic "$1" --admin delete >/dev/null 2>&1 || true; }

records_for() { if (($1 >= 1024)); then echo "$RECORDS_1K"; else echo "$RECORDS_100"; fi; }

# perf_produce SIZE ACKS PARTITIONS RECORDS [THROUGHPUT WARMUP PROPERTY...]:
# Kafka's producer perf test into a new $topic.
perf_produce() {
	local size=$1 acks=$2 parts=$3 records=$4 throughput=${5:--1} warmup=${6:-}
	shift $(($# < 6 ? $# : 6))
	"$tmp/skiff-load" --brokers "$addr" --topic "$topic" --partitions "$parts" --admin create >&2
	"$tmp/bench-compare" perf --kind producer --broker-pid "$broker_pid" --record-size "$size" --label "$broker" -- \
		bash "$kafka_sh" tool kafka-producer-perf-test --bootstrap-server "$addr" --topic "$topic" \
		--num-records "$records" --record-size "$size" --throughput "$throughput" ${warmup:+--warmup-records "$warmup"} \
		--command-property acks="$acks" client.id=bench-compare "$@"
}

# perf_consume SIZE RECORDS: Kafka's consumer perf test, reading $topic in a
# new group (a group that already read it would start at its end).
perf_consume() {
	"$tmp/bench-compare" perf --kind consumer --broker-pid "$broker_pid" --record-size "$1" --label "$broker" -- \
		bash "$kafka_sh" tool kafka-consumer-perf-test --bootstrap-server "$addr" --topic "$topic" \
		--num-records "$2" --group "bc-group-$run_id" --timeout 60000
}

# franz_go SIZE ACKS PARTITIONS RECORDS [ARG...]: skiff-load into a new $topic.
franz_go() {
	local size=$1 acks=$2 parts=$3 records=$4
	shift 4
	"$tmp/skiff-load" --brokers "$addr" --topic "$topic" --partitions "$parts" --records "$records" \
		--record-size "$size" --acks "$acks" --json --label "$broker" --broker-pid "$broker_pid" "$@"
}

# session NAME: one fresh broker through every measurement.
session() {
	local size acks parts n idle loaded install
	wait_idle
	log "round $round: $1"
	start_broker "$1"
	idle=$(idle_rss)
	log "  idle RSS $((idle / 1024)) MB"
	for size in 100 1024; do
		n=$(records_for "$size")
		for parts in 1 6; do
			for acks in 1 all; do
				keep_topic=0
				[[ $acks == all ]] && keep_topic=1
				run_load produce perf-test "$size" "$acks" "$parts" 0 perf_produce "$size" "$acks" "$parts" "$n"
				if [[ $acks == all ]]; then
					consume_topic=$topic keep_topic=0
					run_load consume perf-test "$size" "$acks" "$parts" 0 perf_consume "$size" "$n"
					delete_topic "$consume_topic"
				fi
				local consume=()
				[[ $acks == all ]] && consume=(--consume)
				run_load produce franz-go "$size" "$acks" "$parts" 0 franz_go "$size" "$acks" "$parts" "$n" "${consume[@]}"
			done
		done
	done
	n=$((LAT_RATE * LAT_SECONDS))
	run_load latency perf-test 100 all 6 "$LAT_RATE" perf_produce 100 all 6 "$n" "$LAT_RATE" "$LAT_RATE" linger.ms=0
	run_load latency franz-go 100 all 6 "$LAT_RATE" franz_go 100 all 6 "$n" --rate "$LAT_RATE" --warmup 1s --linger 0
	loaded=$(rss_kb "$broker_pid" VmHWM)
	read -r install_bytes install <<<"$(install_size)"
	log "  loaded RSS (peak) $((loaded / 1024)) MB; install $((install_bytes / 1000000)) MB ($install)"
	printf '{"type":"footprint","broker":"%s","round":%d,"install_bytes":%d,"install":"%s","idle_rss_kb":%d,"loaded_rss_kb":%d}\n' \
		"$broker" "$round" "$install_bytes" "$install" "$idle" "$loaded" >>"$runs"
	if [[ $1 == skiff && ! -s $tmp/profile.pprof ]]; then profile_skiff; fi
	stop_broker
	rm -rf "$tmp/skiff-data-$round" "$kafka_dir"
}

# profile_skiff: an extra, uncounted franz-go run of 100-byte records with a
# CPU profile of the server taken meanwhile from /debug/pprof. The run is
# sized from the rate of the measured run so that it outlasts the profile.
profile_skiff() {
	local seconds=$((QUICK == 1 ? 1 : 3)) rate records run
	rate=$(grep '"broker":"skiff".*"tool":"franz-go","test":"produce","record_size":100,"acks":"all","partitions":6' "$runs" |
		tail -n 1 | sed -nE 's/.*"produce":\{"seconds":[^,]*,"records_per_sec":([0-9.]+).*/\1/p')
	records=$(awk -v r="${rate:-500000}" -v s="$seconds" 'BEGIN {printf "%d", r * (s + 1.5)}')
	topic=bc-profile
	wait_idle
	(sleep 0.5 && curl -sf -o "$tmp/profile.pprof" "http://$metrics/debug/pprof/profile?seconds=$seconds") &
	local curl_pid=$!
	run=$(franz_go 100 all 6 "$records" 2>&1 | tail -n 1)
	if ! wait "$curl_pid"; then
		log "  no CPU profile: http://$metrics/debug/pprof/profile did not answer"
		return
	fi
	{
		echo "# CPU profile of skiff server during an extra franz-go produce run (bench/compare.sh): $records records of 100 bytes, acks=all, 6 partitions"
		echo "# the profile covers ${seconds}s from 0.5s after the run started"
		echo "# machine: $machine"
		echo "# run: $run"
		go tool pprof -top -nodecount=25 "$tmp/skiff" "$tmp/profile.pprof" 2>/dev/null
	} >"$tmp/profile.txt"
	log "  CPU profile taken"
}

QUICK=${QUICK:-0}
log "$ROUNDS round(s) of: $BROKERS; $RECORDS_100 x 100 B and $RECORDS_1K x 1 KiB per run, latency at $LAT_RATE rec/s for ${LAT_SECONDS}s"
for ((round = 1; round <= ROUNDS; round++)); do
	order=($BROKERS)
	if ((round % 2 == 0)); then
		# shellcheck disable=SC2207
		order=($(printf '%s\n' "${order[@]}" | tac))
	fi
	for b in "${order[@]}"; do session "$b"; done
done
log "measured in ${SECONDS}s ($retries_used retries, ${waited}s waiting for a quiet machine)"

settings="rounds=$ROUNDS;records_100B=$RECORDS_100;records_1KiB=$RECORDS_1K;latency_rate=$LAT_RATE;latency_seconds=$LAT_SECONDS"
settings+=";disturbed_cores=$DISTURBED;retries=$RETRIES;quick=$QUICK"
method="each broker fresh and alone on loopback (skiff server on a new data dir, fsyncing; Kafka 4.4 KRaft single node as shipped, 1 GiB heap; kfake in memory), one broker at a time; producer perf test and franz-go with their default settings into a new topic per run; consumers read back what the acks=all run produced; latency at a fixed rate with linger 0 and the first second left out; medians over rounds; runs disturbed by other processes retried (method: top of bench/compare.sh)"
mkdir -p "$OUT_DIR"
profile_args=()
if [[ -s $tmp/profile.txt ]]; then
	cp "$tmp/profile.txt" "$OUT_DIR/skiff-compare-profile.txt"
	profile_args=(--profile "$OUT_DIR/skiff-compare-profile.txt")
fi
"$tmp/bench-compare" report --runs "$runs" --json "$OUT_DIR/latest.json" --md "$OUT_DIR/latest.md" \
	--svg "$OUT_DIR/latest.svg" ${README:+--readme "$README"} --machine "$machine" --settings "$settings" \
	--method "$method" "${profile_args[@]}"
log "written: $OUT_DIR/latest.{json,md,svg}${README:+ and $README}"
