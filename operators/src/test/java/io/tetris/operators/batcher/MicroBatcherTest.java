package io.tetris.operators.batcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.config.TetrisConfig;
import io.tetris.operators.LoopFixtures;
import io.tetris.operators.round.LoopRound;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** Tests for {@link MicroBatcher} on its own (the chained loop is covered by the ITCase). */
class MicroBatcherTest {

    private static KeyedOneInputStreamOperatorTestHarness<Integer, GenerationRequest, LoopRound>
            harness(TetrisConfig config) throws Exception {
        var harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new MicroBatcherOperator(new MicroBatcher(config)), r -> 0, Types.INT);
        harness.open();
        return harness;
    }

    private static GenerationRequest request(String id) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt("hi")
                .setPromptTokenIds(List.of(104, 105))
                .setMaxNewTokens(4)
                .build();
    }

    @Test
    void rejectsARequestIdAlreadyInFlight() throws Exception {
        try (var harness = harness(LoopFixtures.config("tetris", 4, 4, "wait"))) {
            harness.processElement(request("a"), 0);
            harness.processElement(request("a"), 0);
            List<GenerationError> errors = errors(harness);
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0).getCode()).isEqualTo(ErrorCode.DUPLICATE_REQUEST_ID);
            assertThat(errors.get(0).getRequestId()).isEqualTo("a");
            assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
            assertThat(harness.numKeyedStateEntries()).isPositive();
        }
    }

    @Test
    void rejectsWhenTheQueueIsFullAndThePolicyIsReject() throws Exception {
        try (var harness = harness(LoopFixtures.config("tetris", 1, 1, "reject"))) {
            harness.processElement(request("running"), 0);
            harness.processElement(request("waiting"), 0);
            harness.processElement(request("refused"), 0);
            List<GenerationError> errors = errors(harness);
            assertThat(errors).extracting(GenerationError::getRequestId).containsExactly("refused");
            assertThat(errors.get(0).getCode()).isEqualTo(ErrorCode.QUEUE_FULL);
        }
    }

    @Test
    void failsLoudlyWhenTheLoopIsNotChained() throws Exception {
        try (var harness = harness(LoopFixtures.config("tetris", 4, 4, "wait"))) {
            harness.processElement(request("a"), 0);
            // The round goes to the harness output; no verify operator answers it.
            assertThatThrownBy(() -> harness.setProcessingTime(1))
                    .hasStackTraceContaining(MicroBatcher.NOT_CHAINED);
        }
    }

    private static List<GenerationError> errors(
            KeyedOneInputStreamOperatorTestHarness<Integer, GenerationRequest, LoopRound> harness) {
        var records = harness.getSideOutput(LoopOutputs.ERRORS);
        return records == null ? List.of() : records.stream().map(StreamRecord::getValue).toList();
    }
}
