package io.tetris.job.state;

import io.tetris.job.kafka.AdminCalls;
import io.tetris.job.kafka.KafkaClientSettings;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * The request ids whose results were committed after a checkpoint, read from the results topic
 * ({@code read_committed}) before a job resumes from that checkpoint although newer ones existed (a
 * fallback). The results of checkpoints after it were committed already; without these ids the
 * older state would answer those requests a second time.
 *
 * <p>Before reading, the transactions the dead run left open for checkpoints after the resumed one
 * are fenced (aborted): the resumed job would abort them too, and while they are open they hide
 * every later committed result from a {@code read_committed} reader. Transactions of the resumed
 * checkpoint or earlier are left alone, the job commits them when it restores.
 */
public final class AnsweredResults {

    /**
     * How far before a checkpoint's completion its results may have been written: a checkpoint
     * completes within its timeout of being triggered, and the machines' clocks may differ a bit.
     */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

    private static final Duration SETTLE = Duration.ofSeconds(60);

    private AnsweredResults() {}

    /**
     * Ids of results committed to {@code topic} after {@code checkpoint} was triggered: from its
     * completion less the checkpoint timeout and {@link #CLOCK_SKEW}.
     */
    public static Set<String> since(
            KafkaClientSettings kafka,
            String topic,
            String transactionalIdPrefix,
            DurableState.Checkpoint checkpoint,
            Configuration conf,
            PrintStream log) {
        Duration timeout = conf.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT);
        long sinceMs = checkpoint.completedAtMs() - timeout.toMillis() - CLOCK_SKEW.toMillis();
        return since(kafka, topic, transactionalIdPrefix, checkpoint.id(), sinceMs, log);
    }

    /**
     * Ids of results committed to {@code topic} at or after {@code sinceMs}.
     *
     * @param transactionalIdPrefix the results sink's prefix: its ids are {@code
     *     prefix-subtask-checkpoint}
     * @param resumedCheckpoint transactions of later checkpoints are fenced first
     */
    static Set<String> since(
            KafkaClientSettings kafka,
            String topic,
            String transactionalIdPrefix,
            long resumedCheckpoint,
            long sinceMs,
            PrintStream log) {
        return AdminCalls.with(
                kafka,
                "read the results committed after the resumed checkpoint from " + topic,
                admin -> {
                    ResultTransactions.fenceAfter(
                            admin, transactionalIdPrefix, resumedCheckpoint, log);
                    return read(kafka, settledEnds(admin, topic, log), sinceMs);
                });
    }

    /**
     * The end of what is committed, once no open transaction holds it back (aborts take a moment to
     * be written); after {@link #SETTLE}, what is committed by then, with a warning.
     */
    private static Map<TopicPartition, Long> settledEnds(Admin admin, String topic, PrintStream log)
            throws ExecutionException, InterruptedException, TimeoutException {
        var description =
                admin.describeTopics(List.of(topic)).allTopicNames().get(60, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        description
                .get(topic)
                .partitions()
                .forEach(
                        p ->
                                latest.put(
                                        new TopicPartition(topic, p.partition()),
                                        OffsetSpec.latest()));
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (true) {
            Map<TopicPartition, Long> committed =
                    ends(admin, latest, IsolationLevel.READ_COMMITTED);
            Map<TopicPartition, Long> written =
                    ends(admin, latest, IsolationLevel.READ_UNCOMMITTED);
            if (committed.equals(written)) {
                return committed;
            }
            if (System.nanoTime() > deadline) {
                log.println(
                        "warning: open transactions still hold back part of "
                                + topic
                                + " after "
                                + SETTLE.toSeconds()
                                + " s (committed ends "
                                + committed
                                + ", written "
                                + written
                                + "); results committed behind them are not known to be"
                                + " answered");
                return committed;
            }
            Thread.sleep(200);
        }
    }

    private static Map<TopicPartition, Long> ends(
            Admin admin, Map<TopicPartition, OffsetSpec> latest, IsolationLevel isolation)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, Long> ends = new HashMap<>();
        admin.listOffsets(latest, new ListOffsetsOptions(isolation))
                .all()
                .get(60, TimeUnit.SECONDS)
                .forEach((tp, info) -> ends.put(tp, info.offset()));
        return ends;
    }

    private static Set<String> read(
            KafkaClientSettings kafka, Map<TopicPartition, Long> end, long sinceMs) {
        Set<String> ids = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(kafka.consumerProperties(null))) {
            consumer.assign(end.keySet());
            Map<TopicPartition, Long> times = new HashMap<>();
            end.keySet().forEach(tp -> times.put(tp, sinceMs));
            Map<TopicPartition, OffsetAndTimestamp> start =
                    consumer.offsetsForTimes(times, Duration.ofSeconds(60));
            Map<TopicPartition, Long> remaining = new HashMap<>();
            for (TopicPartition tp : end.keySet()) {
                OffsetAndTimestamp from = start.get(tp);
                long offset = from == null ? end.get(tp) : from.offset();
                consumer.seek(tp, offset);
                if (offset < end.get(tp)) {
                    remaining.put(tp, end.get(tp));
                }
            }
            while (!remaining.isEmpty()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.key() != null) {
                        ids.add(new String(r.key(), StandardCharsets.UTF_8));
                    }
                }
                remaining.keySet().removeIf(tp -> consumer.position(tp) >= remaining.get(tp));
            }
        }
        return ids;
    }
}
