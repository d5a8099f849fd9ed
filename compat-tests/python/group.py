"""One member of a consumer group, for the group scenario of the compat tests
(compat-tests/group_test.go; the line protocol is described in group_proc_test.go).

    python group.py BOOTSTRAP TOPIC GROUP CLIENT_ID

A confluent-kafka (librdkafka) consumer with the cooperative-sticky assignor, a 6s session
timeout and 500ms heartbeats, reading from the earliest offset and committing
synchronously after each batch (a failed commit is tried again after the next poll, unless
its partition was revoked). It prints RECORD / COMMITTED / ASSIGNED / REVOKED / LOST
lines and reads "hold" (stop committing) and "leave" (close, which sends LeaveGroup) on
stdin. It gives up after 120s.
"""

import queue
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

LIFETIME_S = 120


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parts(tps):
    return ",".join(str(p) for p in sorted(tp.partition for tp in tps))


class Member:
    def __init__(self, consumer, topic):
        self.c = consumer
        self.topic = topic
        self.held = False
        self.pending = {}  # partition -> next offset, read but not committed

    def commit(self, only=None):
        """Commits what was read from the partitions in only (all when None), unless held."""
        if self.held:
            return
        offsets = {p: o for p, o in self.pending.items() if only is None or p in only}
        if not offsets:
            return
        for p in offsets:
            del self.pending[p]
        try:
            res = self.c.commit(offsets=[TopicPartition(self.topic, p, o) for p, o in offsets.items()],
                                asynchronous=False)
        except KafkaException as e:
            # During a rebalance (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS): try again on
            # the next round, unless the partition is revoked meanwhile.
            emit("NOTE commit %s: %s" % (offsets, e))
            self.retry(offsets)
            return
        ok, failed = [], {}
        for tp in res:
            if tp.error is not None:
                emit("NOTE commit %d: %s" % (tp.partition, tp.error))
                failed[tp.partition] = offsets[tp.partition]
            else:
                ok.append("%d:%d" % (tp.partition, tp.offset))
        self.retry(failed)
        if ok:
            emit("COMMITTED " + ",".join(ok))

    def retry(self, offsets):
        for p, o in offsets.items():
            self.pending.setdefault(p, o)  # a later read of the partition supersedes it

    def on_assign(self, _c, tps):
        emit("ASSIGNED " + parts(tps))

    def on_revoke(self, _c, tps):
        if tps:
            self.commit({tp.partition for tp in tps})
            for tp in tps:
                self.pending.pop(tp.partition, None)
            emit("REVOKED " + parts(tps))

    def on_lost(self, _c, tps):
        for tp in tps:
            self.pending.pop(tp.partition, None)
        emit("LOST " + parts(tps))


def run(bootstrap, topic, group, client_id):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": client_id,
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "max.poll.interval.ms": 20000,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 200,
        "log_level": 4,
    })
    m = Member(c, topic)
    c.subscribe([topic], on_assign=m.on_assign, on_revoke=m.on_revoke, on_lost=m.on_lost)
    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("leave")  # the test is gone

    threading.Thread(target=read_stdin, daemon=True).start()
    deadline = time.monotonic() + LIFETIME_S
    while time.monotonic() < deadline:
        while not commands.empty():
            cmd = commands.get_nowait()
            if cmd == "hold":
                m.commit()
                m.held = True
                emit("HOLDING")
            elif cmd == "leave":
                m.commit()
                c.close()
                emit("CLOSED")
                return
            else:
                emit("NOTE unknown command %s" % cmd)
        msgs = c.consume(num_messages=500, timeout=0.2)
        for msg in msgs:
            if msg.error() is not None:
                emit("NOTE %s" % msg.error())
                continue
            emit("RECORD %d %d %s" % (msg.partition(), msg.offset(), msg.value().decode()))
            m.pending[msg.partition()] = msg.offset() + 1
        m.commit()
    c.close()
    raise RuntimeError("not told to leave within %ds" % LIFETIME_S)


def main(argv):
    if len(argv) != 5:
        print("usage: python group.py BOOTSTRAP TOPIC GROUP CLIENT_ID", file=sys.stderr)
        return 2
    try:
        run(*argv[1:])
    except Exception as e:  # every failure ends the member with a message and status 1
        print("FAIL python group member: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
