package io.tetris.job.state;

import io.tetris.job.kafka.AdminCalls;
import io.tetris.job.kafka.KafkaClientSettings;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Which Kafka data a run read and wrote: the cluster id and the topic ids (Kafka's topic UUIDs, new
 * whenever a topic is created again). Checkpointed source offsets only mean something for the same
 * topics: resumed against a new cluster or recreated topics, they would skip or repeat requests, so
 * a start compares the identity recorded with the checkpoint's run to the one it sees now.
 *
 * @param clusterId the cluster's id
 * @param topicIds topic name to topic id, for the topics that existed
 */
public record KafkaIdentity(String clusterId, Map<String, String> topicIds) {

    private static final String CLUSTER = "kafka.cluster-id";
    private static final String TOPIC = "kafka.topic-id.";

    public KafkaIdentity {
        topicIds = Map.copyOf(topicIds);
    }

    /** How long a start waits for Kafka to answer before it gives up. */
    static final java.time.Duration WAIT = java.time.Duration.ofMinutes(5);

    /**
     * Asks the cluster for its id and for the ids of those {@code topics} that exist, waiting (with
     * a line on {@code log} every so often) while Kafka does not answer: services started together
     * may find the broker still starting.
     */
    public static KafkaIdentity of(
            KafkaClientSettings kafka, Collection<String> topics, java.io.PrintStream log) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                return of(kafka, topics);
            } catch (IllegalStateException e) {
                if (System.nanoTime() > deadline || Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                log.println(
                        "Waiting for Kafka at "
                                + kafka.bootstrapServers()
                                + " ("
                                + e.getMessage()
                                + "); trying again for up to "
                                + WAIT.toMinutes()
                                + " minutes");
                try {
                    Thread.sleep(2_000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** Asks the cluster for its id and for the ids of those {@code topics} that exist. */
    static KafkaIdentity of(KafkaClientSettings kafka, Collection<String> topics) {
        return AdminCalls.with(
                kafka,
                "read the Kafka cluster id and topic ids",
                admin -> {
                    String cluster = admin.describeCluster().clusterId().get(20, TimeUnit.SECONDS);
                    Map<String, String> ids = new TreeMap<>();
                    var described = admin.describeTopics(List.copyOf(topics)).topicNameValues();
                    for (String topic : topics) {
                        try {
                            TopicDescription d = described.get(topic).get(60, TimeUnit.SECONDS);
                            ids.put(topic, d.topicId().toString());
                        } catch (ExecutionException e) {
                            if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                                throw e;
                            }
                        }
                    }
                    return new KafkaIdentity(cluster, ids);
                });
    }

    /**
     * What differs between the data a checkpoint was taken against ({@code this}) and {@code now},
     * in words; empty when it is the same data. A topic that did not exist then and does now is not
     * a difference (the run never read it).
     */
    public Optional<String> differenceFrom(KafkaIdentity now) {
        if (!clusterId.equals(now.clusterId)) {
            return Optional.of(
                    "it was taken against Kafka cluster "
                            + clusterId
                            + ", but the brokers now belong to cluster "
                            + now.clusterId);
        }
        List<String> changed = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(topicIds).entrySet()) {
            String current = now.topicIds.get(e.getKey());
            if (current == null) {
                changed.add("topic " + e.getKey() + " no longer exists");
            } else if (!current.equals(e.getValue())) {
                changed.add(
                        "topic "
                                + e.getKey()
                                + " was created again (id "
                                + e.getValue()
                                + ", now "
                                + current
                                + ")");
            }
        }
        return changed.isEmpty()
                ? Optional.empty()
                : Optional.of("since it was taken, " + String.join(", ", changed));
    }

    /** The identity written by {@link #addTo}; empty when {@code p} has none. */
    static Optional<KafkaIdentity> from(Properties p) {
        String cluster = p.getProperty(CLUSTER);
        if (cluster == null) {
            return Optional.empty();
        }
        Map<String, String> ids = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith(TOPIC)) {
                ids.put(key.substring(TOPIC.length()), p.getProperty(key));
            }
        }
        return Optional.of(new KafkaIdentity(cluster, ids));
    }

    /** Writes the identity into {@code p}. */
    void addTo(Properties p) {
        p.setProperty(CLUSTER, clusterId);
        topicIds.forEach((topic, id) -> p.setProperty(TOPIC + topic, id));
    }
}
