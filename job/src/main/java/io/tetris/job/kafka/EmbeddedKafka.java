package io.tetris.job.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * An in-process, single-node Kafka cluster (KRaft, one combined broker + controller) on a random
 * local port, for {@code ./tetris demo} and the tests: Debian packages no Kafka broker and Docker
 * is not always available, while Kafka's own test kit starts a real broker in about a second.
 *
 * <p>Everything that defaults to three replicas (consumer offsets, transaction state, share-group
 * state) is set to one, so consumer groups and transactional producers (the results sink) work on
 * one node; internal topics get one partition and {@code group.initial.rebalance.delay.ms} is 0, so
 * the first consumer group does not wait. The log directories live in a fresh temporary directory
 * that {@link #close()} deletes.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /** Broker settings that make a single node behave like a small production cluster. */
    public static final Map<String, String> SINGLE_NODE_CONFIG =
            Map.ofEntries(
                    Map.entry("offsets.topic.replication.factor", "1"),
                    Map.entry("offsets.topic.num.partitions", "1"),
                    Map.entry("transaction.state.log.replication.factor", "1"),
                    Map.entry("transaction.state.log.min.isr", "1"),
                    Map.entry("transaction.state.log.num.partitions", "1"),
                    Map.entry("share.coordinator.state.topic.replication.factor", "1"),
                    Map.entry("share.coordinator.state.topic.min.isr", "1"),
                    Map.entry("group.initial.rebalance.delay.ms", "0"));

    /** Lines Kafka's storage formatter prints to stdout; noise in the demo's output. */
    private static final List<String> FORMATTER_LINES =
            List.of("Bootstrap metadata:", "Formatting metadata directory");

    private static final Duration TOPIC_TIMEOUT = Duration.ofSeconds(30);

    private final KafkaClusterTestKit cluster;
    private final Path baseDirectory;
    private final KafkaClientSettings settings;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedKafka(KafkaClusterTestKit cluster, Path baseDirectory) {
        this.cluster = cluster;
        this.baseDirectory = baseDirectory;
        this.settings = KafkaClientSettings.of(cluster.bootstrapServers());
    }

    /** Starts a broker with the single-node defaults and waits until it accepts clients. */
    public static EmbeddedKafka start() {
        return start(Map.of());
    }

    /**
     * Starts a broker and waits until it accepts clients.
     *
     * @param brokerConfig extra broker settings; they override the single-node defaults
     * @throws IllegalStateException if the broker does not start (nothing is left running then)
     */
    public static EmbeddedKafka start(Map<String, String> brokerConfig) {
        Objects.requireNonNull(brokerConfig, "brokerConfig");
        Path dir;
        try {
            dir = Files.createTempDirectory("tetris-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the embedded Kafka's directory", e);
        }
        KafkaClusterTestKit cluster = null;
        try {
            TestKitNodes nodes =
                    new TestKitNodes.Builder()
                            .setCombined(true)
                            .setNumBrokerNodes(1)
                            .setNumControllerNodes(1)
                            .setBaseDirectory(dir)
                            .build();
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
            Map<String, String> config = new LinkedHashMap<>(SINGLE_NODE_CONFIG);
            config.putAll(brokerConfig);
            config.forEach(builder::setConfigProp);
            cluster = builder.build();
            formatQuietly(cluster);
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new EmbeddedKafka(cluster, dir);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            closeQuietly(cluster, e);
            deleteRecursively(dir);
            throw new IllegalStateException(
                    "cannot start the embedded Kafka broker: " + e.getMessage(), e);
        }
    }

    /** {@code localhost:<port>} of the broker's client listener. */
    public String bootstrapServers() {
        return settings.bootstrapServers();
    }

    /** The temporary directory holding the log directories; deleted by {@link #close()}. */
    Path baseDirectory() {
        return baseDirectory;
    }

    /** Client settings for this broker (PLAINTEXT, no credentials). */
    public KafkaClientSettings clientSettings() {
        return settings;
    }

    /**
     * Creates the four topics with {@code partitions} partitions each, unless they exist already.
     *
     * @return the names created by this call
     */
    public Set<String> createTopics(TopicNames topics, int partitions) {
        return KafkaTopics.ensureExist(settings, topics, partitions, (short) 1, TOPIC_TIMEOUT);
    }

    /** Stops the broker and deletes its log directories. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            cluster.close();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("error while stopping the embedded Kafka broker", e);
        } finally {
            deleteRecursively(baseDirectory);
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafka{" + bootstrapServers() + (closed.get() ? ", closed" : "") + "}";
    }

    /**
     * Formats the log directories while dropping the formatter's progress lines from stdout. The
     * test kit gives no way to pass the formatter a stream, so stdout is swapped for the moment of
     * formatting; other output in that moment is passed through line by line.
     */
    private static void formatQuietly(KafkaClusterTestKit cluster) throws Exception {
        PrintStream original = System.out;
        LineFilter filter = new LineFilter(original, FORMATTER_LINES);
        System.setOut(new PrintStream(filter, false, StandardCharsets.UTF_8));
        try {
            cluster.format();
        } finally {
            System.setOut(original);
            filter.finish();
        }
    }

    private static void closeQuietly(KafkaClusterTestKit cluster, Exception failure) {
        if (cluster == null) {
            return;
        }
        try {
            cluster.close();
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder())
                    .forEach(
                            p -> {
                                try {
                                    Files.deleteIfExists(p);
                                } catch (IOException e) {
                                    // Best effort: a leftover temp file must not fail shutdown.
                                }
                            });
        } catch (IOException | UncheckedIOException e) {
            // Best effort, as above.
        }
    }

    /** Forwards whole lines to {@code target} unless they start with one of the prefixes. */
    private static final class LineFilter extends OutputStream {
        private final PrintStream target;
        private final List<String> droppedPrefixes;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineFilter(PrintStream target, List<String> droppedPrefixes) {
            this.target = target;
            this.droppedPrefixes = droppedPrefixes;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                emit();
            }
        }

        /** Flushes complete lines only: PrintStream flushes mid-line, e.g. inside printf. */
        @Override
        public synchronized void flush() {
            target.flush();
        }

        /** Passes on what is left of an unfinished line. */
        synchronized void finish() {
            emit();
            target.flush();
        }

        private void emit() {
            if (line.size() == 0) {
                return;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (droppedPrefixes.stream().noneMatch(text::startsWith)) {
                target.print(text);
            }
        }
    }
}
