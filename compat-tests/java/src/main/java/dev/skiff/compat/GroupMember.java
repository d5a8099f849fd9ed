package dev.skiff.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One member of a consumer group, for the group scenario of the compat tests
 * (compat-tests/group_test.go; the line protocol is described in group_proc_test.go).
 *
 * <pre>java -Dskiff.group.protocol=classic -cp skiff-compat-java.jar dev.skiff.compat.GroupMember BOOTSTRAP TOPIC GROUP CLIENT_ID</pre>
 *
 * With group.protocol=classic (the default) it uses the CooperativeStickyAssignor, a 6s
 * session timeout and 500ms heartbeats; with consumer (KIP-848) the broker assigns and
 * times sessions. It commits synchronously after every poll that returned records (a failed
 * commit is tried again after the next poll, unless its partition was revoked), prints
 * RECORD / COMMITTED / ASSIGNED / REVOKED / LOST lines, and reads "hold" and "leave" on
 * stdin. It gives up after 120s (300s with the consumer protocol, whose broker-side
 * session timeout is 45s by default; -Dskiff.lifetime.ms sets another).
 */
public final class GroupMember implements ConsumerRebalanceListener {

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
    private boolean held;

    private GroupMember(KafkaConsumer<byte[], byte[]> consumer) {
        this.consumer = consumer;
    }

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        if (args.length != 4) {
            System.err.println("usage: java -cp skiff-compat-java.jar dev.skiff.compat.GroupMember BOOTSTRAP TOPIC GROUP CLIENT_ID");
            System.exit(2);
        }
        String protocol = System.getProperty("skiff.group.protocol", "classic");
        try {
            run(args[0], args[1], args[2], args[3], protocol);
        } catch (Exception e) {
            System.err.println("FAIL java group member: " + e);
            e.printStackTrace(System.err);
            System.exit(1);
        }
        // Client threads may linger after close; the member is done.
        System.exit(0);
    }

    static void run(String bootstrap, String topic, String group, String clientId, String protocol) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        }
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "20000");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "200");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");

        BlockingQueue<String> commands = new LinkedBlockingQueue<>();
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    commands.add(line.trim());
                }
            } catch (Exception e) {
                emit("NOTE stdin: " + e);
            }
            commands.add("leave"); // the test is gone
        });
        stdin.setDaemon(true);
        stdin.start();

        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        GroupMember m = new GroupMember(c);
        c.subscribe(List.of(topic), m);
        long lifetime = Long.getLong("skiff.lifetime.ms", protocol.equals("consumer") ? 300_000 : 120_000);
        long deadline = System.currentTimeMillis() + lifetime;
        while (System.currentTimeMillis() < deadline) {
            String cmd;
            while ((cmd = commands.poll()) != null) {
                switch (cmd) {
                    case "hold" -> {
                        m.commit(null);
                        m.held = true;
                        emit("HOLDING");
                    }
                    case "leave" -> {
                        m.commit(null);
                        c.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                                .withTimeout(Duration.ofSeconds(10)));
                        emit("CLOSED");
                        return;
                    }
                    default -> emit("NOTE unknown command " + cmd);
                }
            }
            ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(200));
            for (ConsumerRecord<byte[], byte[]> r : recs) {
                emit("RECORD " + r.partition() + " " + r.offset() + " " + new String(r.value(), StandardCharsets.UTF_8));
                m.pending.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            }
            m.commit(null);
        }
        c.close();
        throw new Exception("not told to leave within " + lifetime / 1000 + "s");
    }

    /** Commits what was read from the given partitions (all when null), unless held. */
    private void commit(Collection<TopicPartition> only) {
        if (held) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        pending.forEach((tp, om) -> {
            if (only == null || only.contains(tp)) {
                offsets.put(tp, om);
            }
        });
        if (offsets.isEmpty()) {
            return;
        }
        offsets.keySet().forEach(pending::remove);
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(10));
        } catch (KafkaException e) {
            // During a rebalance (RebalanceInProgressException, CommitFailedException): try
            // again after the next poll, unless the partition is revoked meanwhile; a later
            // read of the partition supersedes it.
            emit("NOTE commit " + offsets + ": " + e);
            offsets.forEach(pending::putIfAbsent);
            return;
        }
        List<String> done = new ArrayList<>();
        offsets.forEach((tp, om) -> done.add(tp.partition() + ":" + om.offset()));
        emit("COMMITTED " + String.join(",", done));
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> parts) {
        emit("ASSIGNED " + partitions(parts));
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> parts) {
        if (!parts.isEmpty()) {
            commit(parts);
            parts.forEach(pending::remove);
            emit("REVOKED " + partitions(parts));
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> parts) {
        parts.forEach(pending::remove);
        emit("LOST " + partitions(parts));
    }

    private static String partitions(Collection<TopicPartition> parts) {
        List<String> ps = new ArrayList<>();
        parts.stream().map(TopicPartition::partition).sorted().forEach(p -> ps.add(String.valueOf(p)));
        return String.join(",", ps);
    }

    private static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
