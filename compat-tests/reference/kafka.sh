#!/usr/bin/env bash
# Runs Apache Kafka (KRaft, no ZooKeeper) on this machine, as the reference broker that Skiff's
# differential tests and benchmarks compare against. The jars come from Maven Central only:
# pom.xml (the broker, into lib/) and tools/pom.xml (kafka-tools, into tools-lib/).
#
#   kafka.sh fetch          download the jars if pom.xml changed or lib/ is missing (minutes the
#                           first time, then instant)
#   kafka.sh up             one combined broker+controller on free 127.0.0.1 ports; waits until
#                           it serves, then prints its bootstrap address as the last line
#   kafka.sh up3            three combined broker+controller nodes (a replicated cluster); the
#                           last line is the three addresses, comma-separated
#   kafka.sh status         the running nodes; last line the bootstrap address (exit 1: none)
#   kafka.sh down           stop the nodes (SIGTERM, SIGKILL after 30s) and remove the run dir
#   kafka.sh tool NAME ARG...  run one of Kafka's command-line tools, e.g.
#                           kafka.sh tool kafka-topics --bootstrap-server ADDR --list
#                           NAME is a kafka-*.sh name from the Kafka distribution (see
#                           tool_class) or a fully qualified main class.
#
# Environment:
#   KAFKA_REF_DIR        run dir: configs, data, logs, pids (default ${TMPDIR:-/tmp}/skiff-kafka-ref)
#   KAFKA_HEAP_OPTS      broker heap (default "-Xms1g -Xmx1g", as kafka-server-start.sh)
#   KAFKA_REF_WATCH_PID  when set, the nodes are stopped once that process exits (the Go helper
#                        sets it to the test binary, so a killed test leaves no broker behind)
#   KAFKA_TOOL_JVM_OPTS  JVM options of `kafka.sh tool` (default: -Xmx1g for the perf tests, a quick
#                        start for the rest)
#   JAVA_HOME            the JDK to run (default: java on PATH; Kafka 4 needs Java 17 or newer)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
run_dir=${KAFKA_REF_DIR:-${TMPDIR:-/tmp}/skiff-kafka-ref}
heap_opts=${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g}
# The JVM flags of Kafka's kafka-run-class.sh, so the benchmarks measure Kafka as shipped.
jvm_opts="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true"
ready_timeout=120 # seconds until every node logs "Kafka Server started"
stop_timeout=30   # seconds from SIGTERM to SIGKILL

log() { echo "kafka.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

java_bin() {
	if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
		echo "$JAVA_HOME/bin/java"
	elif command -v java >/dev/null; then
		command -v java
	else
		die "java is not on PATH: apt-get install -y default-jdk-headless (Kafka 4 needs Java 17+)"
	fi
}

# fetch_into POMDIR LIBDIR: mvn dependency:copy-dependencies unless LIBDIR/.stamp matches the pom.
fetch_into() {
	local pomdir=$1 lib=$2 sum
	sum=$(sha256sum "$pomdir/pom.xml" | cut -d' ' -f1)
	if [[ -f $lib/.stamp && $(cat "$lib/.stamp") == "$sum" ]]; then
		return
	fi
	command -v mvn >/dev/null || die "mvn is not on PATH: apt-get install -y maven (it fetches Kafka's jars from Maven Central)"
	log "fetching jars for $pomdir/pom.xml into $lib (the first time takes a few minutes)"
	rm -rf "$lib"
	local out
	if ! out=$(cd "$pomdir" && mvn -B -Dstyle.color=never dependency:copy-dependencies 2>&1); then
		echo "$out" | tail -n 40 >&2
		die "mvn dependency:copy-dependencies failed in $pomdir (its output above): Maven Central must be reachable"
	fi
	echo "$sum" >"$lib/.stamp"
}

fetch() {
	fetch_into "$here" "$here/lib"
	fetch_into "$here/tools" "$here/tools-lib"
}

# free_ports N: N distinct ports below the kernel's ephemeral range (so they cannot collide with
# ports other tests get from listening on :0) on which nothing listens on 127.0.0.1.
free_ports() {
	local want=$1 got=() p
	while ((${#got[@]} < want)); do
		p=$((20000 + RANDOM % 12000))
		[[ " ${got[*]} " == *" $p "* ]] && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		got+=("$p")
	done
	echo "${got[@]}"
}

# write_config NODE PORT CPORT VOTERS: the server.properties of one combined node.
write_config() {
	local node=$1 port=$2 cport=$3 voters=$4 dir=$run_dir/node$1 rf=$5
	mkdir -p "$dir/data"
	cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$node
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=$voters
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
}

running_pids() {
	local f pid
	for f in "$run_dir"/node*/pid; do
		[[ -f $f ]] || continue
		pid=$(cat "$f")
		kill -0 "$pid" 2>/dev/null && echo "$pid"
	done
	return 0
}

# up N: format and start N nodes, wait until each has started, print the bootstrap address.
up() {
	local n=$1 java ports voters="" addrs="" cluster_id i pid
	if [[ -n $(running_pids) ]]; then
		if [[ $(cat "$run_dir/nodes" 2>/dev/null) == "$n" ]]; then
			log "already running in $run_dir"
			cat "$run_dir/bootstrap"
			return
		fi
		die "a Kafka with $(cat "$run_dir/nodes" 2>/dev/null || echo '?') nodes is running in $run_dir: kafka.sh down first"
	fi
	java=$(java_bin)
	fetch
	# The run dir is emptied first: refuse one that holds anything but an earlier run.
	if [[ -d $run_dir && ! -f $run_dir/nodes && -n $(ls -A "$run_dir") ]]; then
		die "KAFKA_REF_DIR=$run_dir is not empty and holds no earlier run of kafka.sh: name a new or empty directory"
	fi
	rm -rf "$run_dir"
	mkdir -p "$run_dir"
	read -r -a ports <<<"$(free_ports $((2 * n)))"
	for ((i = 1; i <= n; i++)); do
		voters+="${voters:+,}$i@127.0.0.1:${ports[2 * i - 1]}"
		addrs+="${addrs:+,}127.0.0.1:${ports[2 * i - 2]}"
	done
	# A cluster ID is 16 random bytes in URL-safe base64 without padding, as StorageTool's
	# random-uuid prints (making it here saves a JVM start); like Kafka's Uuid, never one that
	# starts with "-", which a command line would take for an option.
	cluster_id=-
	while [[ $cluster_id == -* ]]; do
		cluster_id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	done
	for ((i = 1; i <= n; i++)); do
		write_config "$i" "${ports[2 * i - 2]}" "${ports[2 * i - 1]}" "$voters" "$((n < 3 ? 1 : 3))"
		"$java" -Xmx256m -cp "$here/lib/*" -Dlog4j2.configurationFile="$here/log4j2.properties" \
			-Dkafka.logs.dir="$run_dir/node$i" kafka.tools.StorageTool format \
			--cluster-id="$cluster_id" --config "$run_dir/node$i/server.properties" >"$run_dir/node$i/format.out" 2>&1 ||
			die "formatting node $i failed: $(cat "$run_dir/node$i/format.out")"
	done
	echo "$n" >"$run_dir/nodes"
	echo "$addrs" >"$run_dir/bootstrap"
	for ((i = 1; i <= n; i++)); do
		# shellcheck disable=SC2086 # heap and JVM options are word lists
		setsid "$java" $heap_opts $jvm_opts -Dlog4j2.configurationFile="$here/log4j2.properties" \
			-Dkafka.logs.dir="$run_dir/node$i" -cp "$here/lib/*" kafka.Kafka "$run_dir/node$i/server.properties" \
			</dev/null >"$run_dir/node$i/stdout.log" 2>&1 &
		echo $! >"$run_dir/node$i/pid"
	done
	[[ -n ${KAFKA_REF_WATCH_PID:-} ]] && start_watchdog "$KAFKA_REF_WATCH_PID"
	wait_started "$n"
	cat "$run_dir/bootstrap"
}

# wait_started N: until every node has logged that it started; on failure stop them all.
wait_started() {
	local n=$1 deadline=$((SECONDS + ready_timeout)) i pid pending
	while :; do
		pending=0
		for ((i = 1; i <= n; i++)); do
			pid=$(cat "$run_dir/node$i/pid")
			if ! kill -0 "$pid" 2>/dev/null; then
				log "node $i (pid $pid) exited while starting; last lines of its log:"
				tail -n 30 "$run_dir/node$i/kafka.log" "$run_dir/node$i/stdout.log" >&2 || true
				down >/dev/null
				exit 1
			fi
			grep -q "Kafka Server started" "$run_dir/node$i/kafka.log" 2>/dev/null || pending=$((pending + 1))
		done
		((pending == 0)) && return
		if ((SECONDS >= deadline)); then
			log "$pending of $n nodes did not start within ${ready_timeout}s; logs are in $run_dir/node*/kafka.log"
			tail -n 30 "$run_dir/node1/kafka.log" >&2 || true
			down >/dev/null
			exit 1
		fi
		sleep 0.2
	done
}

# start_watchdog PID: a detached loop that stops the nodes once PID has exited, and then
# removes the run dir, as down would have.
start_watchdog() {
	local watch=$1 pids
	pids=$(running_pids | tr '\n' ' ')
	setsid bash -c '
		watch=$1 dir=$2
		shift 2
		any_alive() {
			for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
			return 1
		}
		while kill -0 "$watch" 2>/dev/null; do
			any_alive "$@" || exit 0 # stopped by kafka.sh down
			sleep 1
		done
		kill "$@" 2>/dev/null
		for ((i = 0; i < 30; i++)); do
			any_alive "$@" || break
			sleep 1
		done
		kill -9 "$@" 2>/dev/null
		[[ -f $dir/nodes ]] && rm -rf "$dir"
	' kafka-ref-watchdog "$watch" "$run_dir" $pids </dev/null >/dev/null 2>&1 &
}

down() {
	local pids deadline
	pids=$(running_pids | tr '\n' ' ')
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null || true
		deadline=$((SECONDS + stop_timeout))
		while [[ -n $(running_pids) ]] && ((SECONDS < deadline)); do sleep 0.2; done
		pids=$(running_pids | tr '\n' ' ')
		if [[ -n $pids ]]; then
			log "nodes still running ${stop_timeout}s after SIGTERM; sending SIGKILL to $pids"
			# shellcheck disable=SC2086
			kill -9 $pids 2>/dev/null || true
		fi
	fi
	[[ -f $run_dir/nodes ]] && rm -rf "$run_dir"
	log "stopped"
}

status() {
	local pids
	pids=$(running_pids | tr '\n' ' ')
	if [[ -z $pids ]]; then
		log "not running (run dir $run_dir)"
		exit 1
	fi
	log "$(cat "$run_dir/nodes") node(s) running in $run_dir, pids $pids"
	cat "$run_dir/bootstrap"
}

# tool_class NAME: the main class behind a kafka-*.sh script of the Kafka distribution.
tool_class() {
	case $1 in
	kafka-topics | kafka-topics.sh) echo org.apache.kafka.tools.TopicCommand ;;
	kafka-consumer-groups | kafka-consumer-groups.sh) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
	kafka-console-producer | kafka-console-producer.sh) echo org.apache.kafka.tools.ConsoleProducer ;;
	kafka-console-consumer | kafka-console-consumer.sh) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
	kafka-producer-perf-test | kafka-producer-perf-test.sh) echo org.apache.kafka.tools.ProducerPerformance ;;
	kafka-consumer-perf-test | kafka-consumer-perf-test.sh) echo org.apache.kafka.tools.ConsumerPerformance ;;
	kafka-get-offsets | kafka-get-offsets.sh) echo org.apache.kafka.tools.GetOffsetShell ;;
	kafka-*) die "unknown tool $1: give its main class instead" ;;
	*) echo "$1" ;;
	esac
}

tool() {
	[[ $# -ge 1 ]] || die "usage: kafka.sh tool NAME|CLASS [ARG...]"
	local java class
	java=$(java_bin)
	class=$(tool_class "$1")
	shift
	fetch
	# A short-lived command starts faster with the client compiler and serial GC; the perf tests
	# measure, so they get the JVM's defaults.
	local opts=${KAFKA_TOOL_JVM_OPTS:-}
	if [[ -z $opts ]]; then
		case $class in
		*Performance) opts="-Xmx1g" ;;
		*) opts="-Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC" ;;
		esac
	fi
	# shellcheck disable=SC2086 # JVM options are a word list
	exec "$java" $opts -Dlog4j2.configurationFile="$here/tools-log4j2.properties" \
		-cp "$here/tools-lib/*" "$class" "$@"
}

case ${1:-} in
fetch) fetch ;;
up) up 1 ;;
up3) up 3 ;;
down) down ;;
status) status ;;
tool)
	shift
	tool "$@"
	;;
*) die "usage: kafka.sh fetch|up|up3|status|down|tool NAME [ARG...]" ;;
esac
