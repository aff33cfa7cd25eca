package io.tetris.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.kafka.CollectingListener;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * Failures mid-generation ({@code tetris.chaos.fail-at-round}): every request still gets exactly
 * one committed result, equal to the failure-free run's, and the token events, de-duplicated by
 * (request_id, seq), equal the failure-free run's; replayed duplicates carry the same content.
 */
class RecoveryITCase {

    private static final String[] PROMPTS = {
        "The quick brown fox", "A computer is", "Hello, world", "In the beginning",
        "Never trust a", "Hacker culture", "Once upon a time", "What is the"
    };

    @Test
    void oneAndThreeFailuresChangeNothingForGreedyAndSeededSampling() throws Exception {
        Run clean = serve("fixed", List.of());
        for (List<Long> failures : List.of(List.of(8L), List.of(5L, 12L, 20L))) {
            Run failed = serve("fixed", failures);
            assertThat(failed.restartsAtLeast)
                    .as("restarts")
                    .isGreaterThanOrEqualTo(failures.size());
            failed.outcome.assertSameAs(clean.outcome);
        }
    }

    /**
     * TETRIS plans each round across the whole batch, and a restored run batches differently; with
     * coupled sampling and position-cut events the outcome is still the same.
     */
    @Test
    void tetrisRecoversWithTheSameResultsAndEvents() throws Exception {
        Run clean = serve("tetris", List.of());
        Run failed = serve("tetris", List.of(6L, 14L));
        failed.outcome.assertSameAs(clean.outcome);
    }

    private record Run(CommittedOutcome outcome, int restartsAtLeast) {}

    private static Run serve(String policy, List<Long> failAt) throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics("recovery-" + policy, 1);
        Configuration conf = BundledModelsConfig.configuration();
        conf.set(TetrisOptions.POLICY, policy);
        conf.set(TetrisOptions.K, 3);
        conf.set(TetrisOptions.MAX_RUNNING, 4);
        conf.set(TetrisOptions.FAIL_AT_ROUNDS, failAt);
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "10");
        conf.setString("restart-strategy.fixed-delay.delay", "100 ms");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        env.enableCheckpointing(200);
        Topology.build(
                env,
                TetrisConfig.from(conf),
                new Topology.Io(kafka, topics, "recovery", "tx-" + UUID.randomUUID()));
        JobClient job = env.executeAsync("recovery-" + policy);
        Set<String> ids = new LinkedHashSet<>();
        try (GenerationClient client =
                GenerationClient.open(kafka, topics, new CollectingListener())) {
            for (int i = 0; i < 16; i++) {
                String id = "r" + i;
                ids.add(id);
                String sampling =
                        greedy(id) ? "" : ",\"temperature\":0.9,\"top_k\":40,\"seed\":" + (31 * i);
                client.sendJson(
                        "{\"request_id\":\""
                                + id
                                + "\",\"prompt\":\""
                                + PROMPTS[i % PROMPTS.length]
                                + "\",\"max_new_tokens\":"
                                + (10 + (i % 3) * 5)
                                + sampling
                                + "}",
                        id);
            }
            client.awaitAll(ids, Duration.ofMinutes(4));
        } finally {
            job.cancel().get();
        }
        return new Run(
                CommittedOutcome.read(kafka, topics),
                io.tetris.operators.loop.TaskAttempts.restartsObserved(job.getJobID().toString()));
    }

    private static boolean greedy(String id) {
        return Integer.parseInt(id.substring(1)) % 2 == 0;
    }
}
