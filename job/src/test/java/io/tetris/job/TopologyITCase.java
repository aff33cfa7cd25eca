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
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * The whole job against a real (in-process) Kafka broker with the bundled models: 36 requests per
 * policy, greedy and seeded sampling, different lengths, stop strings, with malformed and invalid
 * requests interleaved.
 */
class TopologyITCase {

    private static final String[] PROMPTS = {
        "The quick brown fox",
        "A computer is",
        "Hello, world",
        "In the beginning",
        "There is no such thing as",
        "Never trust a",
        "Hacker culture",
        "Once upon a time",
        "What is the",
        "I think that",
        "The only thing",
        "If you can",
        "My favorite",
        "You will be",
        "All the world",
        "When you are",
        "It is a truth",
        "The program was"
    };

    @Test
    void everyPolicyServesEveryRequestOnceWithTargetOnlyGreedyOutput() throws Exception {
        Map<String, GenerationResult> reference = null;
        for (String policy : List.of("none", "fixed", "dsd", "tetris")) {
            Run run = serve(policy);
            assertThat(run.results.keySet()).as(policy).isEqualTo(run.goodIds);
            assertThat(run.committedResultCounts.values()).as(policy).containsOnly(1);
            assertThat(run.committedResultCounts.keySet()).isEqualTo(run.goodIds);
            for (GenerationResult r : run.results.values()) {
                assertEventsMatch(run.listener.tokens, r);
            }
            assertThat(run.errorCodes())
                    .as(policy)
                    .containsExactlyInAnyOrder(
                            ErrorCode.MALFORMED_JSON,
                            ErrorCode.UNKNOWN_FORMAT,
                            ErrorCode.EMPTY_PROMPT,
                            ErrorCode.INVALID_TEMPERATURE,
                            ErrorCode.INVALID_TOP_P,
                            ErrorCode.PROMPT_TOO_LONG);
            if (reference == null) {
                reference = new HashMap<>();
                for (GenerationResult r : run.results.values()) {
                    reference.put(localId(r.getRequestId()), r);
                }
                continue;
            }
            long accepted = 0;
            for (GenerationResult r : run.results.values()) {
                accepted += r.getSpeculation().getAcceptedTokens();
                if (greedy(r.getRequestId())) {
                    GenerationResult expected = reference.get(localId(r.getRequestId()));
                    assertThat(r.getTokenIds())
                            .as(policy + " " + r.getRequestId())
                            .isEqualTo(expected.getTokenIds());
                    assertThat(r.getText()).isEqualTo(expected.getText());
                }
            }
            assertThat(accepted).as(policy + " accepted draft tokens").isPositive();
        }
    }

    private record Run(
            Set<String> goodIds,
            Map<String, GenerationResult> results,
            Map<String, Integer> committedResultCounts,
            CollectingListener listener) {
        List<ErrorCode> errorCodes() {
            return listener.errors.stream().map(GenerationError::getCode).toList();
        }
    }

    private static Run serve(String policy) throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics("topology-" + policy, 2);
        Configuration conf = BundledModelsConfig.configuration();
        conf.set(TetrisOptions.POLICY, policy);
        conf.set(TetrisOptions.K, 3);
        conf.set(TetrisOptions.MAX_RUNNING, 8);
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        TetrisConfig config = TetrisConfig.from(conf);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        env.enableCheckpointing(300);
        Topology.build(
                env,
                config,
                new Topology.Io(kafka, topics, "tetris-" + policy, "tx-" + UUID.randomUUID()));
        JobClient job = env.executeAsync("topology-" + policy);
        CollectingListener listener = new CollectingListener();
        Set<String> good = new LinkedHashSet<>();
        Set<String> all = new LinkedHashSet<>();
        try (GenerationClient client = GenerationClient.open(kafka, topics, listener)) {
            int bad = 0;
            for (int i = 0; i < 36; i++) {
                String id = policy + "-r" + i;
                client.sendJson(requestJson(id, i), id);
                good.add(id);
                all.add(id);
                if (i % 6 == 2) {
                    String badId = policy + "-bad" + bad;
                    client.sendJson(badJson(bad, badId), badId);
                    all.add(badId);
                    bad++;
                }
            }
            client.awaitAll(all, Duration.ofMinutes(4));
        } finally {
            job.cancel().get();
        }
        Map<String, GenerationResult> results = new HashMap<>();
        for (GenerationResult r : listener.results) {
            results.put(r.getRequestId(), r);
        }
        return new Run(good, results, committedResults(kafka, topics), listener);
    }

    private static String requestJson(String id, int i) {
        String prompt = PROMPTS[i % PROMPTS.length];
        int maxNew = 6 + (i % 5) * 3;
        String sampling =
                greedy(id) ? "" : ",\"temperature\":0.9,\"top_p\":0.95,\"seed\":" + (7 * i);
        String stop = i % 4 == 1 ? ",\"stop\":[\" \", \"\\n\"]" : "";
        return "{\"request_id\":\""
                + id
                + "\",\"prompt\":\""
                + prompt
                + "\",\"max_new_tokens\":"
                + maxNew
                + sampling
                + stop
                + "}";
    }

    private static String badJson(int n, String id) {
        return switch (n % 6) {
            case 0 -> "{\"request_id\":\"" + id + "\",\"prompt\":";
            case 1 -> "\u0001\u0002 not a request " + id;
            case 2 -> "{\"request_id\":\"" + id + "\",\"prompt\":\"\"}";
            case 3 -> "{\"request_id\":\"" + id + "\",\"prompt\":\"x\",\"temperature\":-2}";
            case 4 -> "{\"request_id\":\"" + id + "\",\"prompt\":\"x\",\"top_p\":1.5}";
            default -> "{\"request_id\":\"" + id + "\",\"prompt\":\"x\",\"max_new_tokens\":1000}";
        };
    }

    /** The request id without its policy prefix. */
    private static String localId(String id) {
        return id.substring(id.indexOf('-') + 1);
    }

    private static boolean greedy(String id) {
        return Integer.parseInt(id.substring(id.lastIndexOf('r') + 1)) % 3 != 0;
    }

    /** Counts per request id what a read_committed consumer sees on the results topic. */
    private static Map<String, Integer> committedResults(
            KafkaClientSettings kafka, TopicNames topics) {
        Map<String, Integer> counts = new HashMap<>();
        for (byte[] value : TopicReader.readAll(kafka, topics.results())) {
            GenerationResult r = SingleObjectCodec.RESULT.decode(value).toOptional().orElseThrow();
            counts.merge(r.getRequestId(), 1, Integer::sum);
        }
        return counts;
    }

    private static void assertEventsMatch(List<TokenEvent> all, GenerationResult result) {
        List<TokenEvent> events =
                all.stream()
                        .filter(e -> e.getRequestId().equals(result.getRequestId()))
                        .sorted(Comparator.comparingInt(TokenEvent::getSeq))
                        .toList();
        assertThat(events).as(result.getRequestId()).isNotEmpty();
        String text = events.stream().map(TokenEvent::getText).collect(Collectors.joining());
        assertThat(text).as(result.getRequestId()).isEqualTo(result.getText());
        List<Integer> ids = new ArrayList<>();
        events.forEach(e -> ids.addAll(e.getTokenIds()));
        assertThat(ids).isEqualTo(result.getTokenIds());
        assertThat(events.get(events.size() - 1).getFinished()).isTrue();
    }
}
