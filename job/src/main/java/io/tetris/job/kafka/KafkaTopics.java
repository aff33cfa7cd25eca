package io.tetris.job.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the job's topics if they are missing. Idempotent, so the demo and {@code serve} can call
 * it on every start: an existing topic is left as it is (its partition count included), because
 * changing partitions under a running deployment would move request ids to other partitions.
 */
public final class KafkaTopics {

    private KafkaTopics() {}

    /**
     * Creates each of {@code topics} that does not exist yet and waits until all of them exist.
     *
     * @return the names that were created by this call (empty when all existed)
     * @throws IllegalStateException if the cluster refuses or does not answer within {@code
     *     timeout}
     */
    public static Set<String> ensureExist(
            KafkaClientSettings settings,
            TopicNames topics,
            int partitions,
            short replicationFactor,
            Duration timeout) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1: " + partitions);
        }
        if (replicationFactor < 1) {
            throw new IllegalArgumentException(
                    "replicationFactor must be >= 1: " + replicationFactor);
        }
        List<NewTopic> wanted = new ArrayList<>();
        for (String name : topics.all()) {
            wanted.add(new NewTopic(name, partitions, replicationFactor));
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(settings.adminProperties())) {
            CreateTopicsResult result = admin.createTopics(wanted);
            Set<String> created = new TreeSet<>();
            for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
                try {
                    e.getValue().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                    created.add(e.getKey());
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException(
                                "cannot create topic "
                                        + e.getKey()
                                        + ": "
                                        + ex.getCause().getMessage(),
                                ex.getCause());
                    }
                }
            }
            // Creation is acknowledged by the controller; wait until the broker serves the topics
            // too, so a producer started right after this call does not race the metadata. The
            // broker may not know them yet for a moment: retry until the deadline.
            while (true) {
                try {
                    admin.describeTopics(topics.all())
                            .allTopicNames()
                            .get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                    return Set.copyOf(created);
                } catch (ExecutionException e) {
                    if (!(e.getCause()
                                    instanceof
                                    org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
                            || remainingMs(deadline) == 0) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "cannot describe topics " + topics.all() + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(
                    "Kafka at "
                            + settings.bootstrapServers()
                            + " did not create topics "
                            + topics.all()
                            + " within "
                            + timeout.toMillis()
                            + " ms",
                    e);
        }
    }

    private static long remainingMs(long deadlineNanos) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
    }
}
