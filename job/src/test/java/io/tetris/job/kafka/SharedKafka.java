package io.tetris.job.kafka;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One embedded broker per test JVM: starting one costs 1-2 s, so all broker tests share it and
 * isolate themselves by topic names instead. A shutdown hook stops it and deletes its files.
 */
public final class SharedKafka {

    private static final AtomicInteger TOPIC_SETS = new AtomicInteger();
    private static EmbeddedKafka broker;

    private SharedKafka() {}

    public static synchronized EmbeddedKafka broker() {
        if (broker == null) {
            EmbeddedKafka started = EmbeddedKafka.start();
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(started::close, "embedded-kafka-shutdown"));
            broker = started;
        }
        return broker;
    }

    public static KafkaClientSettings settings() {
        return broker().clientSettings();
    }

    /** Four fresh topics, created with {@code partitions} partitions each. */
    public static TopicNames freshTopics(String purpose, int partitions) {
        TopicNames topics = TopicNames.withPrefix(purpose + "-" + TOPIC_SETS.incrementAndGet());
        broker().createTopics(topics, partitions);
        return topics;
    }
}
