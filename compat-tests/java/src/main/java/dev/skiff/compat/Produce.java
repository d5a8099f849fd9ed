package dev.skiff.compat;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The produce phase: one producer per {@link Dataset.Group}, acks=all, every send confirmed. */
final class Produce {
    static void run(String bootstrap, String topic, long deadline) throws Exception {
        List<Dataset.Group> groups = Dataset.groups();
        for (int g = 0; g < groups.size(); g++) {
            Dataset.Group group = groups.get(g);
            try {
                sendGroup(bootstrap, topic, g, group, deadline);
            } catch (Exception e) {
                throw new Exception("produce " + group.codec() + "/" + group.mode() + ": " + e, e);
            }
            System.out.println("produced " + Dataset.PER_GROUP + " records codec=" + group.codec()
                    + " mode=" + group.mode());
        }
    }

    private static void sendGroup(String bootstrap, String topic, int g, Dataset.Group group, long deadline)
            throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, group.codec());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, Boolean.toString(group.idempotent()));
        if (!group.idempotent()) {
            // Without idempotence only one request in flight keeps retries from reordering.
            p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        }
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "20000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-compat-java-" + group.codec());

        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (Dataset.Rec r : Dataset.records(g, group)) {
                ProducerRecord<byte[], byte[]> pr =
                        new ProducerRecord<>(topic, null, Dataset.utf8(r.key()), Dataset.utf8(r.value()));
                for (Dataset.Header h : r.headers()) {
                    pr.headers().add(h.key(), Dataset.utf8(h.value()));
                }
                sent.add(producer.send(pr));
            }
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                long left = Math.max(1, deadline - System.currentTimeMillis());
                f.get(left, TimeUnit.MILLISECONDS);
            }
        }
    }

    private Produce() {}
}
