package dev.skiff.compat;

/**
 * Compatibility check of the official Java client against a Kafka-protocol broker.
 *
 * <pre>java -jar skiff-compat-java.jar BOOTSTRAP TOPIC produce|verify</pre>
 *
 * produce: sends {@link Dataset} with acks=all, one producer per codec group, and fails on any
 * send error. verify: reads every partition from the beginning to its end offset, checks the
 * records exactly and prints "RESULT records=N digest=HEX", where the digest covers partition,
 * offset, key, value and headers so two verify runs can be compared. Exit status 0 on success,
 * 1 on a mismatch or error (the reason is printed to stderr), 2 on bad usage.
 */
public final class Main {
    /** Upper bound for one phase; the Go wrapper waits a little longer before it kills us. */
    static final long PHASE_TIMEOUT_MS = 60_000;

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        if (args.length != 3) {
            System.err.println("usage: java -jar skiff-compat-java.jar BOOTSTRAP TOPIC produce|verify");
            System.exit(2);
        }
        String bootstrap = args[0], topic = args[1], phase = args[2];
        long deadline = System.currentTimeMillis() + PHASE_TIMEOUT_MS;
        try {
            switch (phase) {
                case "produce" -> Produce.run(bootstrap, topic, deadline);
                case "verify" -> System.out.println(Verify.run(bootstrap, topic, deadline));
                default -> {
                    System.err.println("unknown phase " + phase + ": want produce or verify");
                    System.exit(2);
                }
            }
        } catch (Exception e) {
            System.err.println("FAIL java " + phase + ": " + e.getMessage());
            e.printStackTrace(System.err);
            System.exit(1);
        }
        // Client threads may linger after close; the result is already decided.
        System.exit(0);
    }

    private Main() {}
}
