package io.tetris.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.kafka.CollectingListener;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.Outcome;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.schemas.GenerationResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stop with a savepoint while requests are mid-generation and resume at another parallelism (2 to 1
 * and 1 to 2): every request completes once, with the result of an uninterrupted run.
 */
class RescaleITCase {

    private static final String[] PROMPTS = {
        "The quick brown fox", "A computer is", "Hello, world", "In the beginning",
        "Never trust a", "Hacker culture", "Once upon a time", "What is the"
    };

    @Test
    void twoToOneAndOneToTwo(@TempDir Path savepoints) throws Exception {
        Map<String, GenerationResult> reference = null;
        for (int[] scale : new int[][] {{2, 2}, {2, 1}, {1, 2}}) {
            Map<String, GenerationResult> results = run(scale[0], scale[1], savepoints);
            assertThat(results).hasSize(12);
            if (reference == null) {
                reference = results;
                continue;
            }
            for (Map.Entry<String, GenerationResult> e : reference.entrySet()) {
                GenerationResult r = results.get(e.getKey());
                assertThat(r.getTokenIds()).as(e.getKey()).isEqualTo(e.getValue().getTokenIds());
                assertThat(r.getText()).isEqualTo(e.getValue().getText());
            }
        }
    }

    /** Takes savepoints until one succeeds, which needs every task of the job running. */
    private static void awaitSavepointable(JobClient job, Path savepoints) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            try {
                job.triggerSavepoint(
                                savepoints.resolve("probe-" + UUID.randomUUID()).toUri().toString(),
                                SavepointFormatType.CANONICAL)
                        .get();
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /** Starts at {@code before} replicas, savepoints mid-generation, resumes at {@code after}. */
    private static Map<String, GenerationResult> run(int before, int after, Path savepoints)
            throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics("rescale-" + before + "-" + after, 2);
        String group = "rescale-" + UUID.randomUUID();
        String tx = "tx-" + UUID.randomUUID();
        CollectingListener listener = new CollectingListener();
        Set<String> ids = new LinkedHashSet<>();
        Map<String, Outcome> outcomes;
        try (GenerationClient client = GenerationClient.open(kafka, topics, listener)) {
            JobClient first = start(before, kafka, topics, group, tx, null);
            // Token events are at-least-once and show before every task runs; a savepoint needs
            // all of them running (the exactly-once results sink starts last).
            awaitSavepointable(first, savepoints);
            for (int i = 0; i < 12; i++) {
                String id = "r" + i;
                ids.add(id);
                String sampling = i % 2 == 0 ? "" : ",\"temperature\":0.8,\"seed\":" + (17 * i);
                client.sendJson(
                        "{\"request_id\":\""
                                + id
                                + "\",\"prompt\":\""
                                + PROMPTS[i % PROMPTS.length]
                                + "\",\"max_new_tokens\":160"
                                + sampling
                                + "}",
                        id);
            }
            // Mid-generation: some tokens out, no request finished yet.
            long deadline = System.currentTimeMillis() + 120_000;
            while (listener.tokens.size() < 6 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            String savepoint =
                    first.stopWithSavepoint(
                                    false,
                                    savepoints
                                            .resolve(UUID.randomUUID().toString())
                                            .toUri()
                                            .toString(),
                                    SavepointFormatType.CANONICAL)
                            .get();
            assertThat(listener.results).as("stopped mid-generation").hasSizeLessThan(12);
            JobClient second = start(after, kafka, topics, group, tx, savepoint);
            try {
                outcomes = client.awaitAll(ids, Duration.ofMinutes(4));
            } finally {
                second.cancel().get();
            }
        }
        Map<String, GenerationResult> results = new HashMap<>();
        Map<String, Integer> counts = new HashMap<>();
        for (GenerationResult r : listener.results) {
            results.put(r.getRequestId(), r);
            counts.merge(r.getRequestId(), 1, Integer::sum);
        }
        assertThat(counts.values()).as("one result per request").containsOnly(1);
        assertThat(outcomes.values()).allMatch(o -> o instanceof Outcome.Completed);
        return results;
    }

    private static JobClient start(
            int replicas,
            KafkaClientSettings kafka,
            TopicNames topics,
            String group,
            String tx,
            String savepoint)
            throws Exception {
        Configuration conf = BundledModelsConfig.configuration();
        conf.set(TetrisOptions.REPLICAS, replicas);
        conf.set(TetrisOptions.MAX_RUNNING, 4);
        if (savepoint != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createLocalEnvironment(replicas, conf);
        env.enableCheckpointing(300);
        Topology.build(env, TetrisConfig.from(conf), new Topology.Io(kafka, topics, group, tx));
        return env.executeAsync("rescale-" + replicas);
    }
}
