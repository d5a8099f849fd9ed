"""Compatibility check of confluent-kafka (librdkafka) against a Kafka-protocol broker.

    python client.py BOOTSTRAP TOPIC produce|verify

produce: sends the data set with acks=all, one producer per codec group, and fails on any
delivery error. verify: assigns every partition from the beginning, reads to the high
watermark, checks the records exactly and prints "RESULT records=N partitions=P:N,...
digest=HEX"; the digest covers partition, offset, key, value and headers, so two verify runs
can be compared. Exit status 0 on success, 1 on a mismatch or error (the reason is printed to
stderr), 2 on bad usage.

The data set is the one the Java and kafkajs clients build (compat-tests/java/.../Dataset.java):
one group per (codec, producer mode); in group g record i has key "key-(i%10)", a compressible
value starting with "codec/mode/seq|", and five headers including a repeated key ("dup").
The producer uses librdkafka's murmur2_random partitioner, as the Java client does, so any of
the three clients can verify a topic another one wrote.
"""

import hashlib
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

PHASE_TIMEOUT_S = 60
WANT_PARTITIONS = 3
PER_GROUP = 40
# (codec, idempotent): every codec librdkafka supports from an idempotent producer, then one
# group from a plain producer (no producer id, no sequence numbers).
GROUPS = [
    ("none", True),
    ("gzip", True),
    ("snappy", True),
    ("lz4", True),
    ("zstd", True),
    ("lz4", False),
]


class Mismatch(Exception):
    pass


def mode(idempotent):
    return "idempotent" if idempotent else "plain"


def group_records(gi):
    codec, idem = GROUPS[gi]
    out = []
    for i in range(PER_GROUP):
        seq = "%03d" % i
        rid = "%s/%s/%s" % (codec, mode(idem), seq)
        out.append({
            "index": gi * PER_GROUP + i,
            "id": rid,
            "key": "key-%d" % (i % 10),
            "value": rid + "|" + ("skiff-compat-%d;" % (i % 5)) * (20 + i),
            "headers": [("codec", codec), ("mode", mode(idem)), ("seq", seq),
                        ("dup", "first"), ("dup", "second")],
        })
    return out


def all_records():
    return [r for gi in range(len(GROUPS)) for r in group_records(gi)]


def produce(bootstrap, topic, deadline):
    for gi, (codec, idem) in enumerate(GROUPS):
        what = "%s/%s" % (codec, mode(idem))
        conf = {
            "bootstrap.servers": bootstrap,
            "client.id": "skiff-compat-python-" + codec,
            "acks": "all",
            "compression.type": codec,
            "enable.idempotence": idem,
            "partitioner": "murmur2_random",
            "linger.ms": 5,
            "message.timeout.ms": 20000,
            "request.timeout.ms": 10000,
            "log_level": 4,  # warnings and worse; librdkafka's info lines are noise here
        }
        if not idem:
            # Without idempotence only one request in flight keeps retries from reordering.
            conf["max.in.flight.requests.per.connection"] = 1
        errors, delivered = [], []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
            else:
                delivered.append(msg.offset())

        p = Producer(conf)
        for r in group_records(gi):
            p.produce(topic, key=r["key"], value=r["value"], headers=r["headers"],
                      on_delivery=on_delivery)
            p.poll(0)
        left = p.flush(max(1, deadline - time.monotonic()))
        if left:
            raise Mismatch("produce %s: %d records not delivered before the deadline" % (what, left))
        if errors:
            raise Mismatch("produce %s: %d delivery errors, first: %s" % (what, len(errors), errors[0]))
        if len(delivered) != PER_GROUP:
            raise Mismatch("produce %s: %d delivery reports, want %d" % (what, len(delivered), PER_GROUP))
        print("produced %d records codec=%s mode=%s" % (PER_GROUP, codec, mode(idem)), flush=True)


def verify(bootstrap, topic, deadline):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": "skiff-compat-python-verify",
        "group.id": "skiff-compat-python-verify",  # required by the client; no commits are made
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "log_level": 4,
    })
    try:
        md = c.list_topics(topic, timeout=20)
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None:
            raise Mismatch("topic %s not in metadata: %s" % (topic, tmd and tmd.error))
        if len(tmd.partitions) != WANT_PARTITIONS:
            raise Mismatch("topic %s has %d partitions in metadata, want %d"
                           % (topic, len(tmd.partitions), WANT_PARTITIONS))
        by_partition, high, pending = {}, {}, set()
        for p in sorted(tmd.partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=20)
            by_partition[p], high[p] = [], hi
            if hi > lo:
                pending.add(p)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in by_partition])
        while pending:
            if time.monotonic() > deadline:
                raise Mismatch("timed out before reaching high watermarks %s; read %s"
                               % (high, {p: len(rs) for p, rs in by_partition.items()}))
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                raise Mismatch("consume: %s" % msg.error())
            p = msg.partition()
            by_partition[p].append({
                "offset": msg.offset(),
                "key": None if msg.key() is None else msg.key().decode(),
                "value": None if msg.value() is None else msg.value().decode(),
                "headers": header_string(msg.headers()),
            })
            if msg.offset() + 1 >= high[p]:
                pending.discard(p)
    finally:
        c.close()
    check(by_partition)
    sizes = ",".join("%d:%d" % (p, len(rs)) for p, rs in sorted(by_partition.items()))
    count = sum(len(rs) for rs in by_partition.values())
    return "RESULT records=%d partitions=%s digest=%s" % (count, sizes, digest(by_partition))


def header_string(headers):
    return ",".join("%s=%s" % (k, "<null>" if v is None else v.decode()) for k, v in headers or [])


def check(by_partition):
    """Compares what was read with the data set; raises Mismatch on the first difference."""
    want = {r["id"]: r for r in all_records()}
    seen, key_partition = {}, {}
    for part, recs in sorted(by_partition.items()):
        last_offset, last_index = -1, -1
        for r in recs:
            where = "partition %d offset %d" % (part, r["offset"])
            rid = (r["value"] or "").split("|", 1)[0]
            w = want.get(rid)
            if w is None:
                raise Mismatch("%s: unexpected record value %s" % (where, abbrev(r["value"])))
            if rid in seen:
                raise Mismatch("%s: duplicate of record %s first seen at %s" % (where, rid, seen[rid]))
            seen[rid] = where
            if r["offset"] <= last_offset:
                raise Mismatch("%s: offset not above previous %d" % (where, last_offset))
            if w["index"] <= last_index:
                raise Mismatch("%s: record %s out of produce order in its partition" % (where, rid))
            last_offset, last_index = r["offset"], w["index"]
            if r["key"] != w["key"]:
                raise Mismatch("%s: record %s key %s, want %s" % (where, rid, r["key"], w["key"]))
            if r["value"] != w["value"]:
                raise Mismatch("%s: record %s value %s, want %s"
                               % (where, rid, abbrev(r["value"]), abbrev(w["value"])))
            want_headers = ",".join("%s=%s" % kv for kv in w["headers"])
            if r["headers"] != want_headers:
                raise Mismatch("%s: record %s headers [%s], want [%s]"
                               % (where, rid, r["headers"], want_headers))
            kp = key_partition.setdefault(w["key"], part)
            if kp != part:
                raise Mismatch("%s: key %s also seen in partition %d" % (where, w["key"], kp))
    if len(seen) != len(want):
        missing = sorted(set(want) - set(seen))
        raise Mismatch("read %d records, want %d; missing %s%s"
                       % (len(seen), len(want), ", ".join(missing[:10]), " ..." if len(missing) > 10 else ""))


def digest(by_partition):
    h = hashlib.sha256()
    for part, recs in sorted(by_partition.items()):
        for r in recs:
            h.update(("%d\t%d\t%s\t%s\t%s\n" % (part, r["offset"], r["key"], r["value"], r["headers"])).encode())
    return h.hexdigest()


def abbrev(s):
    return s if s is None or len(s) <= 60 else "%s...(%d bytes)" % (s[:60], len(s))


def main(argv):
    if len(argv) != 4 or argv[3] not in ("produce", "verify"):
        print("usage: python client.py BOOTSTRAP TOPIC produce|verify", file=sys.stderr)
        return 2
    bootstrap, topic, phase = argv[1:]
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    try:
        if phase == "produce":
            produce(bootstrap, topic, deadline)
        else:
            print(verify(bootstrap, topic, deadline), flush=True)
    except Exception as e:  # every failure ends the phase with a message and status 1
        print("FAIL python %s: %s" % (phase, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
