package dev.skiff.compat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** The verify phase: read all partitions from the start to the end offsets, compare exactly. */
final class Verify {
    static final int WANT_PARTITIONS = 3;

    static String run(String bootstrap, String topic, long deadline) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "skiff-compat-java-verify");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");

        Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(20));
            if (infos == null || infos.size() != WANT_PARTITIONS) {
                throw new Exception("topic " + topic + " has " + (infos == null ? 0 : infos.size())
                        + " partitions in metadata, want " + WANT_PARTITIONS);
            }
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : infos) {
                tps.add(new TopicPartition(topic, pi.partition()));
                byPartition.put(pi.partition(), new ArrayList<>());
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(20));
            while (!reachedEnd(c, end)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new Exception("timed out before reaching end offsets " + end + ", positions "
                            + positions(c, tps) + ", read " + count(byPartition) + " records");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    byPartition.get(r.partition()).add(r);
                }
            }
        }
        check(byPartition);
        List<String> sizes = new ArrayList<>();
        byPartition.forEach((part, rs) -> sizes.add(part + ":" + rs.size()));
        return "RESULT records=" + count(byPartition) + " partitions=" + String.join(",", sizes)
                + " digest=" + digest(byPartition);
    }

    private static boolean reachedEnd(KafkaConsumer<?, ?> c, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static Map<TopicPartition, Long> positions(KafkaConsumer<?, ?> c, List<TopicPartition> tps) {
        Map<TopicPartition, Long> m = new HashMap<>();
        for (TopicPartition tp : tps) {
            m.put(tp, c.position(tp));
        }
        return m;
    }

    private static int count(Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition) {
        return byPartition.values().stream().mapToInt(List::size).sum();
    }

    /** Compares what was read with {@link Dataset#all()}; throws on the first difference. */
    static void check(Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition) throws Exception {
        Map<String, Dataset.Rec> want = new HashMap<>();
        for (Dataset.Rec r : Dataset.all()) {
            want.put(r.id(), r);
        }
        Map<String, String> seen = new HashMap<>();
        Map<String, Integer> keyPartition = new HashMap<>();
        for (Map.Entry<Integer, List<ConsumerRecord<byte[], byte[]>>> e : byPartition.entrySet()) {
            int part = e.getKey();
            long lastOffset = -1;
            int lastIndex = -1;
            for (ConsumerRecord<byte[], byte[]> r : e.getValue()) {
                String where = "partition " + part + " offset " + r.offset();
                String value = str(r.value());
                String id = value == null ? "" : value.split("\\|", 2)[0];
                Dataset.Rec w = want.get(id);
                if (w == null) {
                    throw new Exception(where + ": unexpected record value " + abbrev(value));
                }
                if (seen.containsKey(id)) {
                    throw new Exception(where + ": duplicate of record " + id + " first seen at " + seen.get(id));
                }
                seen.put(id, where);
                if (r.offset() <= lastOffset) {
                    throw new Exception(where + ": offset not above previous " + lastOffset);
                }
                if (w.index() <= lastIndex) {
                    throw new Exception(where + ": record " + id + " out of produce order in its partition");
                }
                lastOffset = r.offset();
                lastIndex = w.index();
                if (!w.key().equals(str(r.key()))) {
                    throw new Exception(where + ": record " + id + " key " + str(r.key()) + ", want " + w.key());
                }
                if (!w.value().equals(value)) {
                    throw new Exception(where + ": record " + id + " value " + abbrev(value) + ", want " + abbrev(w.value()));
                }
                String gotHeaders = headers(r), wantHeaders = headers(w.headers());
                if (!wantHeaders.equals(gotHeaders)) {
                    throw new Exception(where + ": record " + id + " headers [" + gotHeaders + "], want [" + wantHeaders + "]");
                }
                Integer kp = keyPartition.putIfAbsent(w.key(), part);
                if (kp != null && kp != part) {
                    throw new Exception(where + ": key " + w.key() + " also seen in partition " + kp);
                }
            }
        }
        if (seen.size() != want.size()) {
            List<String> missing = new ArrayList<>();
            for (String id : want.keySet()) {
                if (!seen.containsKey(id)) {
                    missing.add(id);
                }
            }
            missing.sort(null);
            throw new Exception("read " + seen.size() + " records, want " + want.size() + "; missing "
                    + missing.subList(0, Math.min(10, missing.size())) + (missing.size() > 10 ? " ..." : ""));
        }
    }

    static String digest(Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (List<ConsumerRecord<byte[], byte[]>> rs : byPartition.values()) {
            for (ConsumerRecord<byte[], byte[]> r : rs) {
                String line = r.partition() + "\t" + r.offset() + "\t" + str(r.key()) + "\t" + str(r.value())
                        + "\t" + headers(r) + "\n";
                md.update(line.getBytes(StandardCharsets.UTF_8));
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String headers(ConsumerRecord<byte[], byte[]> r) {
        List<String> parts = new ArrayList<>();
        for (Header h : r.headers()) {
            parts.add(h.key() + "=" + str(h.value()));
        }
        return String.join(",", parts);
    }

    private static String headers(List<Dataset.Header> hs) {
        List<String> parts = new ArrayList<>();
        for (Dataset.Header h : hs) {
            parts.add(h.key() + "=" + h.value());
        }
        return String.join(",", parts);
    }

    private static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static String abbrev(String s) {
        return s == null || s.length() <= 60 ? s : s.substring(0, 60) + "...(" + s.length() + " bytes)";
    }

    private Verify() {}
}
