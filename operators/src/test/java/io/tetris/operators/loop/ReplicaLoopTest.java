package io.tetris.operators.loop;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.operators.DecodeLoop;
import io.tetris.operators.LoopFixtures;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** Harness tests of the decode loop operator: batching limits, rounds, learned state. */
class ReplicaLoopTest {

    /** Requests whose id starts with "b" go to replica 1, the others to replica 0. */
    private static final KeySelector<GenerationRequest, Integer> REPLICA =
            r -> r.getRequestId().startsWith("b") ? 1 : 0;

    private static final class Loop {
        final ReplicaLoopOperator operator;
        final KeyedOneInputStreamOperatorTestHarness<Integer, GenerationRequest, Void> harness;

        Loop(TetrisConfig config, int parallelism, int subtask) throws Exception {
            operator = new ReplicaLoopOperator(new ReplicaLoop(config, 256));
            harness =
                    new KeyedOneInputStreamOperatorTestHarness<>(
                            operator,
                            REPLICA,
                            Types.INT,
                            DecodeLoop.MAX_REPLICAS,
                            parallelism,
                            subtask);
        }

        static Loop open(TetrisConfig config) throws Exception {
            Loop loop = new Loop(config, 1, 0);
            loop.harness.open();
            return loop;
        }

        /** Runs rounds until {@code n} results are out. */
        List<GenerationResult> runUntil(int n) throws Exception {
            for (long t = harness.getProcessingTime() + 1; results().size() < n; t++) {
                assertThat(t).as("rounds until %d results", n).isLessThan(10_000);
                harness.setProcessingTime(t);
            }
            return results();
        }

        List<GenerationResult> results() {
            var records = harness.getSideOutput(LoopOutputs.RESULTS);
            return records == null
                    ? List.of()
                    : records.stream().map(StreamRecord::getValue).toList();
        }

        List<GenerationError> errors() {
            var records = harness.getSideOutput(LoopOutputs.ERRORS);
            return records == null
                    ? List.of()
                    : records.stream().map(StreamRecord::getValue).toList();
        }
    }

    private static GenerationRequest request(String id) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt("hi")
                .setPromptTokenIds(List.of(104, 105))
                .setMaxNewTokens(4)
                .build();
    }

    private static GenerationRequest longer(String id, String prompt) {
        List<Integer> tokens = new java.util.ArrayList<>();
        for (byte b : prompt.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            tokens.add(b & 0xFF);
        }
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt(prompt)
                .setPromptTokenIds(tokens)
                .setMaxNewTokens(24)
                .build();
    }

    @Test
    void rejectsARequestIdAlreadyInFlight() throws Exception {
        Loop loop = Loop.open(LoopFixtures.config("tetris", 4, 4, "wait"));
        try (var harness = loop.harness) {
            harness.processElement(request("a"), 0);
            harness.processElement(request("a"), 0);
            List<GenerationError> errors = loop.errors();
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0).getCode()).isEqualTo(ErrorCode.DUPLICATE_REQUEST_ID);
            assertThat(errors.get(0).getRequestId()).isEqualTo("a");
            assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
            assertThat(harness.numKeyedStateEntries()).isPositive();
        }
    }

    @Test
    void rejectsWhenTheQueueIsFullAndThePolicyIsReject() throws Exception {
        Loop loop = Loop.open(LoopFixtures.config("tetris", 1, 1, "reject"));
        try (var harness = loop.harness) {
            harness.processElement(request("running"), 0);
            harness.processElement(request("waiting"), 0);
            harness.processElement(request("refused"), 0);
            List<GenerationError> errors = loop.errors();
            assertThat(errors).extracting(GenerationError::getRequestId).containsExactly("refused");
            assertThat(errors.get(0).getCode()).isEqualTo(ErrorCode.QUEUE_FULL);
        }
    }

    @Test
    void runsEveryRequestToItsResultInRounds() throws Exception {
        Loop loop = Loop.open(LoopFixtures.config("tetris", 2, 4, "wait"));
        try (var harness = loop.harness) {
            for (String id : List.of("a1", "a2", "a3")) {
                harness.processElement(request(id), 0);
            }
            List<GenerationResult> results = loop.runUntil(3);
            assertThat(results)
                    .extracting(GenerationResult::getRequestId)
                    .containsExactlyInAnyOrder("a1", "a2", "a3");
            for (GenerationResult r : results) {
                assertThat(r.getTokenIds()).hasSize(4);
            }
            assertThat(harness.getSideOutput(LoopOutputs.TOKENS)).isNotEmpty();
        }
    }

    @Test
    void aRequestsClockStartsWhenItReachedKafkaNotWhenTheLoopReadIt() throws Exception {
        Loop loop = Loop.open(LoopFixtures.config("tetris", 2, 4, "wait"));
        try (var harness = loop.harness) {
            harness.setProcessingTime(5_000);
            // Its record says it reached Kafka at 1,000 ms: it waited 4 s in the topic.
            harness.processElement(request("a1"), 1_000);
            GenerationResult r = loop.runUntil(1).get(0);
            assertThat(r.getTimings().getReceivedAtMs()).isEqualTo(1_000);
            assertThat(r.getTimings().getQueueMs()).isGreaterThanOrEqualTo(4_000);
            assertThat(r.getTimings().getTimeToFirstTokenMs()).isGreaterThanOrEqualTo(4_000);
        }
        // No timestamp, or one from the future: the loop's own clock.
        assertThat(ReplicaLoop.arrival(null, 7)).isEqualTo(7);
        assertThat(ReplicaLoop.arrival(9L, 7)).isEqualTo(7);
        assertThat(ReplicaLoop.arrival(-1L, 7)).isEqualTo(7);
    }

    /** Runs two replicas' requests under tetris-adaptive and snapshots what they learned. */
    private static OperatorSubtaskState learnOnTwoReplicas(byte[][] learned) throws Exception {
        TetrisConfig config = LoopFixtures.config("tetris-adaptive", 4, 8, "wait");
        Loop loop = Loop.open(config);
        try (var harness = loop.harness) {
            harness.processElement(longer("a1", "The quick brown fox jumps over"), 0);
            harness.processElement(longer("a2", "Hello, world. Hello, world."), 0);
            harness.processElement(longer("b1", "Once upon a time there was"), 0);
            loop.runUntil(3);
            OperatorSubtaskState snapshot = harness.snapshot(1, 1);
            learned[0] = loop.operator.learned(0);
            learned[1] = loop.operator.learned(1);
            return snapshot;
        }
    }

    @Test
    void whatThePolicyLearnedSurvivesARestore() throws Exception {
        byte[][] learned = new byte[2][];
        OperatorSubtaskState snapshot = learnOnTwoReplicas(learned);
        byte[] fresh;
        Loop unrestored = Loop.open(LoopFixtures.config("tetris-adaptive", 4, 8, "wait"));
        try (var harness = unrestored.harness) {
            fresh = unrestored.operator.learned(0);
        }
        assertThat(learned[0]).as("the replica learned something").isNotEqualTo(fresh);

        Loop restored = new Loop(LoopFixtures.config("tetris-adaptive", 4, 8, "wait"), 1, 0);
        try (var harness = restored.harness) {
            harness.initializeState(snapshot);
            harness.open();
            assertThat(restored.operator.learned(0)).isEqualTo(learned[0]);
            assertThat(restored.operator.learned(1)).isEqualTo(learned[1]);
        }
    }

    @Test
    void whatThePolicyLearnedFollowsItsReplicaOnARescale() throws Exception {
        byte[][] learned = new byte[2][];
        OperatorSubtaskState snapshot = learnOnTwoReplicas(learned);
        assertThat(learned[0]).isNotEqualTo(learned[1]);
        for (int key = 0; key < 2; key++) {
            int subtask =
                    KeyGroupRangeAssignment.assignKeyToParallelOperator(
                            key, DecodeLoop.MAX_REPLICAS, 2);
            OperatorSubtaskState part =
                    AbstractStreamOperatorTestHarness.repartitionOperatorState(
                            snapshot, DecodeLoop.MAX_REPLICAS, 1, 2, subtask);
            Loop rescaled =
                    new Loop(LoopFixtures.config("tetris-adaptive", 4, 8, "wait"), 2, subtask);
            try (var harness = rescaled.harness) {
                harness.initializeState(part);
                harness.open();
                assertThat(rescaled.operator.learned(key)).isEqualTo(learned[key]);
            }
        }
    }
}
