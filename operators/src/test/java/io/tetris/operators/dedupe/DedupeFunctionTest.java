package io.tetris.operators.dedupe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DedupeFunctionTest {

    private static final Duration RETENTION = Duration.ofMinutes(10);

    @Test
    void aSecondRequestWithTheSameIdGetsAnErrorAndDoesNotRun() throws Exception {
        try (var harness = harness()) {
            harness.open();
            harness.setProcessingTime(1_000);
            harness.processElement(new StreamRecord<>(request("a")));
            harness.processElement(new StreamRecord<>(request("b")));
            harness.setProcessingTime(5_000);
            harness.processElement(new StreamRecord<>(request("a")));

            assertThat(ids(harness)).containsExactly("a", "b");
            List<GenerationError> errors = errors(harness);
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0).getRequestId()).isEqualTo("a");
            assertThat(errors.get(0).getCode()).isEqualTo(ErrorCode.DUPLICATE_REQUEST_ID);
            assertThat(errors.get(0).getMessage())
                    .contains("already accepted", "tetris.requests.id-retention");
        }
    }

    @Test
    void theIdsSurviveACheckpointAndRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var harness = harness()) {
            harness.open();
            harness.setProcessingTime(1_000);
            harness.processElement(new StreamRecord<>(request("a")));
            snapshot = harness.snapshot(1, 2_000);
        }
        try (var restored = harness()) {
            restored.initializeState(snapshot);
            restored.open();
            restored.setProcessingTime(3_000);
            restored.processElement(new StreamRecord<>(request("a")));
            restored.processElement(new StreamRecord<>(request("c")));
            assertThat(ids(restored)).containsExactly("c");
            assertThat(errors(restored))
                    .extracting(GenerationError::getRequestId)
                    .containsExactly("a");
        }
    }

    @Test
    void anIdIsForgottenAfterTheRetention() throws Exception {
        try (var harness = harness()) {
            harness.open();
            harness.setProcessingTime(1_000);
            harness.processElement(new StreamRecord<>(request("a")));
            // The state's time-to-live runs on its own clock.
            harness.setStateTtlProcessingTime(1_000 + RETENTION.toMillis() + 1);
            harness.setProcessingTime(1_000 + RETENTION.toMillis() + 1);
            harness.processElement(new StreamRecord<>(request("a")));
            assertThat(ids(harness)).containsExactly("a", "a");
            assertThat(errors(harness)).isEmpty();
        }
    }

    @Test
    void requestsAnsweredAfterAFallbackCheckpointAreDroppedSilentlyAndRememberedAfterwards(
            @TempDir java.nio.file.Path dir) throws Exception {
        org.apache.flink.core.fs.Path file =
                new org.apache.flink.core.fs.Path(dir.resolve("answered.ids").toUri());
        AnsweredIds.write(file, List.of("answered", "ünïcode-id"));
        try (var harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new DedupeFunction(RETENTION, file.toString())),
                        GenerationRequest::getRequestId,
                        Types.STRING)) {
            harness.open();
            harness.setProcessingTime(1_000);
            // Replays of answered requests: neither run again nor refused with an error.
            harness.processElement(new StreamRecord<>(request("answered")));
            harness.processElement(new StreamRecord<>(request("ünïcode-id")));
            harness.processElement(new StreamRecord<>(request("new")));
            assertThat(ids(harness)).containsExactly("new");
            assertThat(errors(harness)).isEmpty();
            // Sent again later by a client: an ordinary duplicate.
            harness.processElement(new StreamRecord<>(request("answered")));
            assertThat(errors(harness))
                    .extracting(GenerationError::getCode)
                    .containsExactly(ErrorCode.DUPLICATE_REQUEST_ID);
        }
    }

    @Test
    void refusesANonPositiveRetention() {
        assertThatThrownBy(() -> new DedupeFunction(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    String, GenerationRequest, GenerationRequest>
            harness() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new DedupeFunction(RETENTION)),
                GenerationRequest::getRequestId,
                Types.STRING);
    }

    private static GenerationRequest request(String id) {
        return GenerationRequest.newBuilder().setRequestId(id).setPrompt("Hi").build();
    }

    private static List<String> ids(
            KeyedOneInputStreamOperatorTestHarness<String, GenerationRequest, GenerationRequest>
                    harness) {
        return harness.extractOutputValues().stream().map(GenerationRequest::getRequestId).toList();
    }

    private static List<GenerationError> errors(
            KeyedOneInputStreamOperatorTestHarness<String, GenerationRequest, GenerationRequest>
                    harness) {
        var side = harness.getSideOutput(DedupeFunction.ERRORS);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }
}
