#!/usr/bin/env bash
# Compatibility check of kcat (librdkafka) against a Kafka-protocol broker.
#
#   kcat.sh BOOTSTRAP TOPIC produce|verify
#
# produce: one kcat producer per codec group (acks=all, -z CODEC, -K: keys, -H headers).
# verify: reads every partition from the beginning to its end (-C -e), checks the records
# exactly and prints "RESULT records=N partitions=P:N,... digest=HEX"; the digest covers
# partition, offset, key, value and headers, so two verify runs can be compared. Exit status 0
# on success, 1 on a mismatch or error (the reason is printed to stderr), 2 on bad usage.
#
# The data set is the one the Java, kafkajs and Python clients use (see
# compat-tests/java/src/main/java/dev/skiff/compat/Dataset.java), except that kcat sets the
# same headers on every record of one invocation, so there is no per-record "seq" header:
# each record carries codec, mode, dup=first, dup=second. With the murmur2_random partitioner
# records land on the same partitions as with the other clients.
set -euo pipefail

PER_GROUP=40
WANT_PARTITIONS=3
PHASE_TIMEOUT=60
# codec:mode, in produce order; the last group comes from a producer without idempotence.
CODEC_GROUPS=(none:idempotent gzip:idempotent snappy:idempotent lz4:idempotent zstd:idempotent lz4:plain)

fail() {
	echo "FAIL kcat $PHASE: $*" >&2
	exit 1
}

# expected prints "index<TAB>id<TAB>key<TAB>value<TAB>headers" for every record, in produce order.
expected() {
	local gi=0 g codec mode
	for g in "${CODEC_GROUPS[@]}"; do
		codec=${g%%:*} mode=${g#*:}
		awk -v gi="$gi" -v n="$PER_GROUP" -v codec="$codec" -v mode="$mode" 'BEGIN {
			for (i = 0; i < n; i++) {
				id = sprintf("%s/%s/%03d", codec, mode, i)
				v = id "|"
				for (j = 0; j < 20 + i; j++) v = v "skiff-compat-" (i % 5) ";"
				printf "%d\t%s\tkey-%d\t%s\tcodec=%s,mode=%s,dup=first,dup=second\n", gi * n + i, id, i % 10, v, codec, mode
			}
		}'
		gi=$((gi + 1))
	done
}

produce() {
	local g codec mode idem
	for g in "${CODEC_GROUPS[@]}"; do
		codec=${g%%:*} mode=${g#*:}
		idem=false
		[[ $mode == idempotent ]] && idem=true
		expected | awk -F'\t' -v id="$codec/$mode/" 'index($2, id) == 1 { print $3 ":" $4 }' |
			timeout "$PHASE_TIMEOUT" kcat -b "$BOOTSTRAP" -t "$TOPIC" -P -K: -z "$codec" \
				-X acks=all -X enable.idempotence="$idem" -X partitioner=murmur2_random \
				-X linger.ms=5 -X message.timeout.ms=20000 -X log_level=4 \
				-H codec="$codec" -H mode="$mode" -H dup=first -H dup=second ||
			fail "produce $codec/$mode: kcat exited with status $?"
		echo "produced $PER_GROUP records codec=$codec mode=$mode"
	done
}

verify() {
	local meta parts
	meta=$(timeout 20 kcat -b "$BOOTSTRAP" -L -t "$TOPIC" -X log_level=4) || fail "metadata for $TOPIC: kcat exited with status $?"
	parts=$(sed -n 's/^ *topic "[^"]*" with \([0-9]*\) partitions:.*/\1/p' <<<"$meta")
	[[ $parts == "$WANT_PARTITIONS" ]] || fail "topic $TOPIC has ${parts:-no} partitions in metadata, want $WANT_PARTITIONS: $meta"

	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
	local got=$WORK/got want=$WORK/want
	expected >"$want"
	# -e: exit once every partition is read to its end; any consume error also ends kcat non-zero.
	timeout "$PHASE_TIMEOUT" kcat -b "$BOOTSTRAP" -t "$TOPIC" -C -o beginning -e -q -X log_level=4 \
		-f '%p\t%o\t%k\t%s\t%h\n' | sort -t$'\t' -k1,1n -k2,2n >"$got" ||
		fail "consume: kcat exited with status ${PIPESTATUS[0]}"

	awk -F'\t' '
		FNR == NR { idx[$2] = $1; key[$2] = $3; val[$2] = $4; hdr[$2] = $5; nwant++; next }
		{
			where = "partition " $1 " offset " $2
			id = $4; sub(/\|.*/, "", id)
			if (!(id in idx)) { printf "%s: unexpected record value %.60s\n", where, $4; bad = 1; exit 1 }
			if (id in seen) { printf "%s: duplicate of record %s first seen at %s\n", where, id, seen[id]; bad = 1; exit 1 }
			seen[id] = where; nseen++
			if (($1 in lastoff) && $2 + 0 <= lastoff[$1]) { printf "%s: offset not above previous %d\n", where, lastoff[$1]; bad = 1; exit 1 }
			if (($1 in lastidx) && idx[id] + 0 <= lastidx[$1]) { printf "%s: record %s out of produce order in its partition\n", where, id; bad = 1; exit 1 }
			lastoff[$1] = $2 + 0; lastidx[$1] = idx[id] + 0
			if ($3 != key[id]) { printf "%s: record %s key %s, want %s\n", where, id, $3, key[id]; bad = 1; exit 1 }
			if ($4 != val[id]) { printf "%s: record %s value %.60s, want %.60s\n", where, id, $4, val[id]; bad = 1; exit 1 }
			if ($5 != hdr[id]) { printf "%s: record %s headers [%s], want [%s]\n", where, id, $5, hdr[id]; bad = 1; exit 1 }
			if ((key[id] in keypart) && keypart[key[id]] != $1) { printf "%s: key %s also seen in partition %s\n", where, key[id], keypart[key[id]]; bad = 1; exit 1 }
			keypart[key[id]] = $1
		}
		END {
			if (bad) exit 1
			if (nseen != nwant) {
				m = ""; k = 0
				for (id in idx) if (!(id in seen) && k++ < 10) m = m " " id
				printf "read %d records, want %d; missing%s\n", nseen, nwant, m
				exit 1
			}
		}' "$want" "$got" >&2 || fail "mismatch (see the line above)"

	local sizes digest count
	count=$(wc -l <"$got")
	sizes=$(cut -f1 "$got" | uniq -c | awk '{ printf "%s%s:%s", sep, $2, $1; sep = "," }')
	digest=$(sha256sum "$got" | cut -d' ' -f1)
	echo "RESULT records=$count partitions=$sizes digest=$digest"
}

if [[ $# -ne 3 ]] || [[ $3 != produce && $3 != verify ]]; then
	echo "usage: kcat.sh BOOTSTRAP TOPIC produce|verify" >&2
	exit 2
fi
BOOTSTRAP=$1 TOPIC=$2 PHASE=$3
command -v kcat >/dev/null || fail "kcat not found: apt-get install -y kcat (or run compat-tests/install.sh)"
"$PHASE"
