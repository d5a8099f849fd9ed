#!/usr/bin/env bash
# Installs and builds what the compat tests of clients outside Go need (TestCompatJava,
# TestCompatKafkaJS, TestCompatPython, TestCompatKcat), on a Debian machine as root:
#   - Debian packages, only those whose tool is missing: kcat, a JDK and Maven, Node.js and
#     npm, python3-venv, and make/g++ (kafkajs-lz4 compiles its lz4 binding on install);
#   - node/:   npm ci (kafkajs and codecs, from package-lock.json);
#   - python/: a venv in python/.venv with requirements.txt (confluent-kafka);
#   - java/:   mvn package, a jar with all dependencies in java/target;
#   - Rust's wasm32-wasip1 target (rustup), for the tests of transforms built with Redpanda's
#     Rust SDK (transforms/testdata/redpanda-rust).
# It is idempotent and quick when everything is in place: each step keeps a stamp of its
# inputs and is skipped while they are unchanged. FORCE=1 redoes every step.
# Arguments name the steps to run instead of all of them: the Makefile's `other` runs
# `install.sh rust_target` before the transforms tests.
set -euo pipefail
cd "$(dirname "$0")"

log() { echo "install.sh: $*"; }

# stamp_ok DIR INPUT... : true when DIR/.skiff-install-stamp matches the inputs' hash.
stamp_hash() { { cat "$@"; node --version 2>/dev/null || true; python3 --version 2>&1 || true; } | sha256sum | cut -d' ' -f1; }
stamp_ok() {
	local dir=$1
	shift
	[[ ${FORCE:-} != 1 && -f $dir/.skiff-install-stamp && $(cat "$dir/.skiff-install-stamp") == "$(stamp_hash "$@")" ]]
}
stamp_write() {
	local dir=$1
	shift
	stamp_hash "$@" >"$dir/.skiff-install-stamp"
}

apt_packages() {
	local want=()
	command -v kcat >/dev/null || want+=(kcat)
	command -v javac >/dev/null || want+=(default-jdk-headless)
	command -v mvn >/dev/null || want+=(maven)
	command -v node >/dev/null || want+=(nodejs)
	command -v npm >/dev/null || want+=(npm)
	python3 -c 'import ensurepip, venv' 2>/dev/null || want+=(python3-venv)
	{ command -v make >/dev/null && command -v g++ >/dev/null; } || want+=(make g++)
	[[ ${#want[@]} -eq 0 ]] && return
	log "apt-get install ${want[*]}"
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${want[@]}" >/dev/null
}

node_deps() {
	if [[ -d node/node_modules ]] && stamp_ok node/node_modules node/package-lock.json; then
		return
	fi
	log "npm ci in node/"
	(cd node && npm ci --no-audit --no-fund --loglevel=error)
	stamp_write node/node_modules node/package-lock.json
}

python_venv() {
	if [[ -x python/.venv/bin/python ]] && stamp_ok python/.venv python/requirements.txt; then
		return
	fi
	log "python venv in python/.venv"
	rm -rf python/.venv
	python3 -m venv python/.venv
	python/.venv/bin/pip install -q --disable-pip-version-check -r python/requirements.txt
	stamp_write python/.venv python/requirements.txt
}

java_jar() {
	local jar=java/target/skiff-compat-java.jar
	if [[ ${FORCE:-} != 1 && -f $jar && -z $(find java/pom.xml java/src -newer "$jar" -print -quit) ]]; then
		return
	fi
	log "mvn package in java/"
	(cd java && mvn -q -B package)
}

# rust_target: Rust's wasm32-wasip1 target, which only rustup provides (Debian's cargo has no
# standard library for it). Without rustup, or when the download fails, it says what to do and
# goes on: the tests that need the target skip (SKIFF_RUST_STRICT=1 makes them fail).
rust_target() {
	local rustup out
	rustup=$(command -v rustup || echo "${CARGO_HOME:-$HOME/.cargo}/bin/rustup")
	if [[ ! -x $rustup ]]; then
		log "no rustup: the tests of Rust SDK transforms need Rust's wasm32-wasip1 target; install Rust with rustup (https://rustup.rs), then run: rustup target add wasm32-wasip1"
		return
	fi
	"$rustup" target list --installed 2>/dev/null | grep -qx wasm32-wasip1 && return
	log "rustup target add wasm32-wasip1"
	if ! out=$("$rustup" target add wasm32-wasip1 2>&1); then
		log "WARNING: rustup target add wasm32-wasip1 failed; the tests of Rust SDK transforms will SKIP:"
		echo "$out" >&2
	fi
}

if [[ $# -gt 0 ]]; then
	for step in "$@"; do
		case $step in
		apt_packages | node_deps | python_venv | java_jar | rust_target) "$step" ;;
		*)
			echo "install.sh: unknown step $step (steps: apt_packages node_deps python_venv java_jar rust_target)" >&2
			exit 2
			;;
		esac
	done
	exit 0
fi
apt_packages
node_deps
python_venv
java_jar
rust_target
log "compat clients ready: $(kcat -V 2>/dev/null | sed -n 's/^Version \([^ ]*\).*/kcat \1/p'), $(cd node && node -p '"kafkajs " + require("kafkajs/package.json").version'), $(python/.venv/bin/python -c 'import confluent_kafka as c; v = c.version(); print("confluent-kafka", v[0] if isinstance(v, tuple) else v, "librdkafka", c.libversion()[0])'), $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:kafka-clients \1:p' java/pom.xml)"
