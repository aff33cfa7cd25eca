package io.tetris.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The validation step and the chained decode loop on a MiniCluster with the bundled models, fed
 * from a bounded collection (so the end-of-input drain is exercised too).
 */
class DecodeLoopITCase {

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    private static final String[] PROMPTS = {
        "The quick brown fox", "A computer is", "Hello, world", "In the beginning",
        "There is no such thing as", "Never trust a", "Hacker culture", "Once upon a time",
        "What is the", "I think that", "The only thing", "If you can"
    };

    private static Map<String, GenerationResult> greedyReference;

    /** Runs the loop over {@code requests}; returns results, token events and errors. */
    private static Run run(String policy, List<byte[]> requests, Configuration extra)
            throws Exception {
        Configuration conf = io.tetris.operators.config.BundledModelsConfig.configuration();
        conf.set(TetrisOptions.POLICY, policy);
        conf.set(TetrisOptions.K, 3);
        conf.set(TetrisOptions.REPLICAS, 2);
        conf.set(TetrisOptions.MAX_RUNNING, 4);
        conf.addAll(extra);
        TetrisConfig config = TetrisConfig.from(conf);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        env.getConfig().enableObjectReuse();
        DecodeLoop.Outputs outputs =
                DecodeLoop.attach(
                        env.fromData(
                                requests, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO),
                        config,
                        256);
        CloseableIterator<GenerationResult> results = outputs.results().collectAsync();
        CloseableIterator<TokenEvent> tokens = outputs.tokens().collectAsync();
        CloseableIterator<GenerationError> errors = outputs.errors().collectAsync();
        env.execute("decode-loop-" + policy);
        Run run = new Run(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        results.forEachRemaining(run.results::add);
        tokens.forEachRemaining(run.tokens::add);
        errors.forEachRemaining(run.errors::add);
        return run;
    }

    private record Run(
            List<GenerationResult> results, List<TokenEvent> tokens, List<GenerationError> errors) {
        Map<String, GenerationResult> byId() {
            Map<String, GenerationResult> out = new HashMap<>();
            for (GenerationResult r : results) {
                assertThat(out.put(r.getRequestId(), r)).as("one result per request").isNull();
            }
            return out;
        }
    }

    private static List<byte[]> goodRequests() {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < PROMPTS.length; i++) {
            int maxNew = 8 + 4 * (i % 4);
            String sampling =
                    i % 3 == 0 ? ",\"temperature\":0.8,\"top_k\":50,\"seed\":" + (100 + i) : "";
            String stop = i % 4 == 1 ? ",\"stop\":[\" \"]" : "";
            out.add(
                    json(
                            "{\"request_id\":\"r"
                                    + i
                                    + "\",\"prompt\":\""
                                    + PROMPTS[i]
                                    + "\",\"max_new_tokens\":"
                                    + maxNew
                                    + sampling
                                    + stop
                                    + "}"));
        }
        return out;
    }

    private static synchronized Map<String, GenerationResult> reference() throws Exception {
        if (greedyReference == null) {
            greedyReference = run("none", goodRequests(), new Configuration()).byId();
        }
        return greedyReference;
    }

    @ParameterizedTest
    @ValueSource(strings = {"fixed", "dsd", "tetris"})
    void everyPolicyGivesTargetOnlyOutputAndConsistentEvents(String policy) throws Exception {
        Run run = run(policy, goodRequests(), new Configuration());
        Map<String, GenerationResult> results = run.byId();
        Map<String, GenerationResult> reference = reference();
        assertThat(results).hasSize(PROMPTS.length);
        assertThat(run.errors()).isEmpty();
        for (GenerationResult r : results.values()) {
            GenerationResult expected = reference.get(r.getRequestId());
            // Greedy and seeded-sampling requests both reproduce: same seeds, same positions.
            if (isGreedy(r.getRequestId())) {
                assertThat(r.getTokenIds()).isEqualTo(expected.getTokenIds());
                assertThat(r.getText()).isEqualTo(expected.getText());
            }
            assertThat(r.getPolicy()).isEqualTo(policy);
            assertEventsMatch(run.tokens(), r);
        }
        assertThat(
                        run.results().stream()
                                .mapToLong(r -> r.getSpeculation().getAcceptedTokens())
                                .sum())
                .isPositive();
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "fixed", "dsd", "tetris", "tetris-adaptive"})
    void perRequestSpeculationControlsAndLogprobsHoldUnderEveryPolicy(String policy)
            throws Exception {
        List<byte[]> requests = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String sampling = i % 2 == 1 ? ",\"temperature\":0.8,\"seed\":" + (7 + i) : "";
            requests.add(
                    json(
                            "{\"request_id\":\"lp"
                                    + i
                                    + "\",\"prompt\":\""
                                    + PROMPTS[i]
                                    + "\",\"max_new_tokens\":12,\"logprobs\":true"
                                    + sampling
                                    + "}"));
        }
        requests.add(
                json(
                        "{\"request_id\":\"off\",\"prompt\":\"Hello, world\","
                                + "\"max_new_tokens\":12,\"max_draft_tokens\":0,"
                                + "\"logprobs\":true}"));
        requests.add(
                json(
                        "{\"request_id\":\"cap1\",\"prompt\":\"Hacker culture\","
                                + "\"max_new_tokens\":12,\"max_draft_tokens\":1}"));
        Run run = run(policy, requests, new Configuration());
        assertThat(run.errors()).isEmpty();
        Map<String, GenerationResult> results = run.byId();
        assertThat(results).hasSize(requests.size());

        GenerationResult off = results.get("off");
        assertThat(off.getSpeculation().getDraftTokens()).as("speculation off").isZero();
        // One token per round (a final end-of-text round adds one round and no token).
        assertThat(off.getSpeculation().getRounds())
                .isBetween((long) off.getTokenIds().size(), off.getTokenIds().size() + 1L);
        GenerationResult capped = results.get("cap1");
        assertThat(capped.getSpeculation().getDraftTokens())
                .as("at most one draft token per round")
                .isLessThanOrEqualTo(capped.getSpeculation().getRounds());
        assertThat(capped.getLogprobs()).as("not asked").isEmpty();
        if (!policy.equals("none")) {
            long drafted =
                    run.results().stream()
                            .mapToLong(r -> r.getSpeculation().getDraftTokens())
                            .sum();
            assertThat(drafted).as("the others still speculate").isPositive();
        }

        // Logprobs are the target model's own, token by token, in the result and the events.
        try (io.tetris.model.OnnxLanguageModel target =
                        io.tetris.model.BundledModels.load(io.tetris.model.BundledModels.target());
                io.tetris.model.HuggingFaceTextTokenizer tokenizer =
                        io.tetris.model.HuggingFaceTextTokenizer.load(
                                io.tetris.model.BundledModels.tokenizer())) {
            for (String id : List.of("lp0", "lp1", "lp2", "lp3", "off")) {
                GenerationResult r = results.get(id);
                String prompt = id.equals("off") ? "Hello, world" : PROMPTS[id.charAt(2) - '0'];
                int[] promptTokens = tokenizer.encode(prompt);
                List<Integer> generated = r.getTokenIds();
                assertThat(r.getLogprobs()).as(id).hasSameSizeAs(generated).isNotEmpty();
                int[] sequence = new int[promptTokens.length + generated.size()];
                System.arraycopy(promptTokens, 0, sequence, 0, promptTokens.length);
                for (int j = 0; j < generated.size(); j++) {
                    sequence[promptTokens.length + j] = generated.get(j);
                }
                float[][] rows =
                        target.extend(
                                        List.of(
                                                new io.tetris.model.LanguageModel.Extension(
                                                        "check-" + id, sequence)))[0];
                target.release("check-" + id);
                for (int j = 0; j < generated.size(); j++) {
                    float own = rows[promptTokens.length - 1 + j][generated.get(j)];
                    assertThat((double) r.getLogprobs().get(j))
                            .as("%s token %d", id, j)
                            .isCloseTo(own, org.assertj.core.data.Offset.offset(1e-3));
                }
                List<Float> fromEvents = new ArrayList<>();
                run.tokens().stream()
                        .filter(e -> e.getRequestId().equals(id))
                        .sorted(Comparator.comparingInt(TokenEvent::getSeq))
                        .forEach(e -> fromEvents.addAll(e.getLogprobs()));
                assertThat(fromEvents).as(id + " events").isEqualTo(r.getLogprobs());
            }
        }
    }

    @Test
    void stopStringsAndLengthsFinishRequests() throws Exception {
        for (GenerationResult r : reference().values()) {
            int i = Integer.parseInt(r.getRequestId().substring(1));
            if (i % 4 == 1) {
                assertThat(r.getText()).doesNotContain(" ");
                assertThat(r.getFinishReason())
                        .isIn(FinishReason.STOP, FinishReason.LENGTH, FinishReason.EOS);
            } else {
                assertThat(r.getFinishReason()).isIn(FinishReason.LENGTH, FinishReason.EOS);
            }
            assertThat(r.getUsage().getCompletionTokens()).isEqualTo(r.getTokenIds().size());
            assertThat(r.getTokenIds().size()).isLessThanOrEqualTo(8 + 4 * (i % 4));
        }
    }

    @Test
    void badRequestsBecomeErrorsAndGoodOnesStillComplete() throws Exception {
        List<byte[]> requests = new ArrayList<>();
        requests.add(json("{\"request_id\":\"good-1\",\"prompt\":\"Hello\",\"max_new_tokens\":4}"));
        requests.add("not json at all".getBytes(StandardCharsets.UTF_8));
        requests.add(json("{\"request_id\":\"empty\",\"prompt\":\"\"}"));
        requests.add(json("{\"request_id\":\"hot\",\"prompt\":\"x\",\"temperature\":-1}"));
        requests.add(json("{\"request_id\":\"long\",\"prompt\":\"x\",\"max_new_tokens\":600}"));
        requests.add(json("{\"request_id\":\"good-2\",\"prompt\":\"World\",\"max_new_tokens\":4}"));
        requests.add(json("{\"request_id\":\"good-2\",\"prompt\":\"Again\",\"max_new_tokens\":4}"));
        Run run = run("tetris", requests, new Configuration());
        assertThat(run.byId().keySet()).containsExactlyInAnyOrder("good-1", "good-2");
        Map<ErrorCode, Long> codes =
                run.errors().stream()
                        .collect(
                                Collectors.groupingBy(
                                        GenerationError::getCode, Collectors.counting()));
        assertThat(codes)
                .containsEntry(ErrorCode.UNKNOWN_FORMAT, 1L)
                .containsEntry(ErrorCode.EMPTY_PROMPT, 1L)
                .containsEntry(ErrorCode.INVALID_TEMPERATURE, 1L)
                .containsEntry(ErrorCode.PROMPT_TOO_LONG, 1L)
                .containsEntry(ErrorCode.DUPLICATE_REQUEST_ID, 1L);
    }

    @Test
    void hostileInputsEachGetOneErrorWithTheirCodeWhileGoodRequestsComplete() throws Exception {
        List<byte[]> requests = new ArrayList<>();
        List<io.tetris.operators.validate.HostileInputs.Case> cases =
                io.tetris.operators.validate.HostileInputs.all();
        requests.add(json("{\"request_id\":\"dup\",\"prompt\":\"Hi\",\"max_new_tokens\":24}"));
        requests.add(json("{\"request_id\":\"dup\",\"prompt\":\"Hi again\"}"));
        for (int i = 0; i < cases.size(); i++) {
            requests.add(cases.get(i).value());
            requests.add(
                    json(
                            "{\"request_id\":\"ok-"
                                    + i
                                    + "\",\"prompt\":\""
                                    + PROMPTS[i % PROMPTS.length]
                                    + "\",\"max_new_tokens\":3}"));
        }
        Configuration limits = new Configuration();
        limits.set(
                TetrisOptions.MAX_PAYLOAD_BYTES,
                io.tetris.operators.validate.HostileInputs.MAX_PAYLOAD_BYTES);
        Run run = run("tetris", requests, limits);

        assertThat(run.byId().keySet()).hasSize(cases.size() + 1).contains("dup");
        List<ErrorCode> expected = new ArrayList<>();
        cases.forEach(c -> expected.add(c.code()));
        expected.add(ErrorCode.DUPLICATE_REQUEST_ID);
        assertThat(run.errors().stream().map(GenerationError::getCode).toList())
                .containsExactlyInAnyOrderElementsOf(expected);
        for (GenerationError error : run.errors()) {
            assertThat(error.getMessage()).isNotBlank();
        }
    }

    @Test
    void aFullQueueMakesTheSourceWaitWhenThePolicyIsWait() throws Exception {
        Run run = run("tetris", burst(24), queue(2, 2, "wait"));
        assertThat(run.byId()).hasSize(24);
        assertThat(run.errors()).isEmpty();
    }

    @Test
    void aFullQueueRejectsWithAnErrorWhenThePolicyIsReject() throws Exception {
        Run run = run("tetris", burst(24), queue(2, 2, "reject"));
        List<GenerationError> errors = run.errors();
        assertThat(errors).isNotEmpty().allMatch(e -> e.getCode() == ErrorCode.QUEUE_FULL);
        // Nothing is lost: every request either completed or was refused, once.
        assertThat(run.byId().size() + errors.size()).isEqualTo(24);
        assertThat(run.byId().size()).isGreaterThanOrEqualTo(4);
    }

    private static List<byte[]> burst(int n) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(
                    json(
                            "{\"request_id\":\"b"
                                    + i
                                    + "\",\"prompt\":\""
                                    + PROMPTS[i % PROMPTS.length]
                                    + "\",\"max_new_tokens\":6}"));
        }
        return out;
    }

    private static Configuration queue(int running, int waiting, String policy) {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.MAX_RUNNING, running);
        conf.set(TetrisOptions.MAX_WAITING, waiting);
        conf.set(TetrisOptions.QUEUE_FULL, policy);
        conf.set(TetrisOptions.REPLICAS, 1);
        return conf;
    }

    @Test
    void runsWithoutOperatorChaining() throws Exception {
        // The loop is one keyed operator: no in-JVM channel between tasks for chaining to break.
        Configuration noChaining = new Configuration();
        noChaining.set(PipelineOptions.OPERATOR_CHAINING, false);
        List<byte[]> requests = goodRequests();
        Run run = run("tetris", requests, noChaining);
        assertThat(run.errors()).isEmpty();
        assertThat(run.byId()).hasSize(requests.size());
    }

    private static void assertEventsMatch(List<TokenEvent> all, GenerationResult result) {
        List<TokenEvent> events =
                all.stream()
                        .filter(e -> e.getRequestId().equals(result.getRequestId()))
                        .sorted(Comparator.comparingInt(TokenEvent::getSeq))
                        .toList();
        assertThat(events).isNotEmpty();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).getSeq()).isEqualTo(i);
            assertThat(events.get(i).getFinished()).isEqualTo(i == events.size() - 1);
            text.append(events.get(i).getText());
        }
        assertThat(text.toString()).isEqualTo(result.getText());
        assertThat(events.get(events.size() - 1).getFinishReason())
                .isEqualTo(result.getFinishReason());
    }

    private static boolean isGreedy(String id) {
        return Integer.parseInt(id.substring(1)) % 3 != 0;
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
