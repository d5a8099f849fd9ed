"""Producer and consumer of the view scenario of the compat tests
(compat-tests/smartmodule_test.go; the line protocol is described in smartmodule_proc_test.go).

    python view.py BOOTSTRAP produce|consume TOPIC

produce: one idempotent confluent-kafka producer (acks=all) per codec; the values of a SEND line
are produced to their partition and flushed together, so they form one batch. consume: subscribes
in a fresh group with auto.offset.reset=earliest and enable.partition.eof, and prints RECORD lines
and EOF at each partition end; it stops on "stop" or the end of stdin, and gives up after 120s.
"""

import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer

LIFETIME_S = 120


def emit(line):
    print(line, flush=True)


def produce(bootstrap, topic):
    producers = {}
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        if len(f) < 4 or f[0] != "SEND":
            raise ValueError("bad line: %r" % line)
        partition, codec, values = int(f[1]), f[2], f[3:]
        p = producers.get(codec)
        if p is None:
            p = producers[codec] = Producer({
                "bootstrap.servers": bootstrap,
                "client.id": "skiff-compat-view-" + codec,
                "acks": "all",
                "enable.idempotence": True,
                "compression.type": codec,
                "linger.ms": 100,  # flush() sends at once; until then one batch collects
                "message.timeout.ms": 30000,
                "log_level": 4,
            })
        acked, errors = {}, []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
            else:
                # offset() is None where the broker answered no offset (-1): a batch
                # that a produce-time filter dropped whole is not stored.
                off = msg.offset()
                acked[msg.value().decode()] = (msg.partition(), -1 if off is None else off)

        for v in values:
            p.produce(topic, key=v.split("|", 1)[0], value=v, partition=partition, on_delivery=on_delivery)
        left = p.flush(30)
        if left or errors:
            raise RuntimeError("send to partition %d: %d not delivered, errors %s" % (partition, left, errors[:3]))
        for v in values:
            emit("ACK %d %d %s" % (acked[v][0], acked[v][1], v))
    emit("DONE")


def consume(bootstrap, topic):
    stop = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": "skiff-compat-view",
        "group.id": "skiff-compat-view-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "log_level": 4,
    })
    deadline = time.monotonic() + LIFETIME_S
    try:
        c.subscribe([topic])
        while not stop.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError("not told to stop within %ds" % LIFETIME_S)
            msg = c.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    emit("EOF %d %d" % (msg.partition(), msg.offset()))
                else:
                    emit("NOTE %s" % err)
                continue
            emit("RECORD %d %d %s %s" % (msg.partition(), msg.offset(), msg.key().decode(), msg.value().decode()))
    finally:
        c.close()
    emit("CLOSED")


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("produce", "consume"):
        print("usage: python view.py BOOTSTRAP produce|consume TOPIC", file=sys.stderr)
        sys.exit(2)
    bootstrap, mode, topic = sys.argv[1:]
    try:
        if mode == "produce":
            produce(bootstrap, topic)
        else:
            consume(bootstrap, topic)
    except Exception as e:  # noqa: BLE001 - reported and turned into the exit status
        print("FAIL python view %s: %r" % (mode, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
