package dev.skiff.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Producer and consumer of the view scenario of the compat tests
 * (compat-tests/smartmodule_test.go; the line protocol is described in
 * smartmodule_proc_test.go).
 *
 * <pre>java -cp skiff-compat-java.jar dev.skiff.compat.ViewClient BOOTSTRAP produce|consume TOPIC</pre>
 *
 * produce: one idempotent producer (acks=all) per codec; the values of a SEND line are
 * sent together and flushed, so they form one batch. consume: subscribes in a fresh group
 * with auto.offset.reset=earliest and prints RECORD lines, and POSITION whenever
 * {@link KafkaConsumer#position} changes; it stops on "stop" or the end of stdin, and gives
 * up after 120s.
 */
public final class ViewClient {

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        if (args.length != 3) {
            System.err.println("usage: java -cp skiff-compat-java.jar dev.skiff.compat.ViewClient BOOTSTRAP produce|consume TOPIC");
            System.exit(2);
        }
        try {
            switch (args[1]) {
                case "produce" -> produce(args[0], args[2]);
                case "consume" -> consume(args[0], args[2]);
                default -> {
                    System.err.println("unknown mode " + args[1] + ": want produce or consume");
                    System.exit(2);
                }
            }
        } catch (Exception e) {
            System.err.println("FAIL java view " + args[1] + ": " + e);
            e.printStackTrace(System.err);
            System.exit(1);
        }
        // Client threads may linger after close; the result is already decided.
        System.exit(0);
    }

    static void produce(String bootstrap, String topic) throws Exception {
        Map<String, KafkaProducer<byte[], byte[]>> producers = new HashMap<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.trim().split(" ");
                if (f.length < 4 || !f[0].equals("SEND")) {
                    throw new IllegalArgumentException("bad line: " + line);
                }
                int partition = Integer.parseInt(f[1]);
                KafkaProducer<byte[], byte[]> p = producers.computeIfAbsent(f[2], c -> newProducer(bootstrap, c));
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (int i = 3; i < f.length; i++) {
                    String key = f[i].substring(0, f[i].indexOf('|'));
                    sent.add(p.send(new ProducerRecord<>(topic, partition,
                            key.getBytes(StandardCharsets.UTF_8), f[i].getBytes(StandardCharsets.UTF_8))));
                }
                p.flush();
                for (int i = 0; i < sent.size(); i++) {
                    RecordMetadata md = sent.get(i).get(30, TimeUnit.SECONDS);
                    emit("ACK " + md.partition() + " " + md.offset() + " " + f[i + 3]);
                }
            }
        } finally {
            producers.values().forEach(p -> p.close(Duration.ofSeconds(10)));
        }
        emit("DONE");
    }

    private static KafkaProducer<byte[], byte[]> newProducer(String bootstrap, String codec) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-compat-view-" + codec);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "1000"); // flush() sends; until then one batch collects
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(1 << 20));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static void consume(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "skiff-compat-view-" + UUID.randomUUID());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "skiff-compat-view");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "500");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");

        AtomicBoolean stop = new AtomicBoolean();
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null && !line.trim().equals("stop")) {
                    // only "stop" is a command
                }
            } catch (Exception e) {
                emit("NOTE stdin: " + e);
            }
            stop.set(true);
        });
        stdin.setDaemon(true);
        stdin.start();

        long deadline = System.currentTimeMillis() + 120_000;
        Map<TopicPartition, Long> reported = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            while (!stop.get()) {
                if (System.currentTimeMillis() > deadline) {
                    throw new Exception("not told to stop within 120s");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    emit("RECORD " + r.partition() + " " + r.offset() + " "
                            + new String(r.key(), StandardCharsets.UTF_8) + " " + new String(r.value(), StandardCharsets.UTF_8));
                }
                for (TopicPartition tp : c.assignment()) {
                    try {
                        long pos = c.position(tp, Duration.ofSeconds(5));
                        if (!Long.valueOf(pos).equals(reported.put(tp, pos))) {
                            emit("POSITION " + tp.partition() + " " + pos);
                        }
                    } catch (KafkaException e) {
                        emit("NOTE position " + tp + ": " + e);
                    }
                }
            }
        }
        emit("CLOSED");
    }

    private static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private ViewClient() {}
}
