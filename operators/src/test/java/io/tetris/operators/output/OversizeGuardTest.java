package io.tetris.operators.output;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.SpeculationStats;
import io.tetris.schemas.Timings;
import io.tetris.schemas.TokenEvent;
import io.tetris.schemas.Usage;
import java.util.List;
import java.util.Objects;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** {@link OversizeGuard}: what the sink could not write becomes an error, the rest passes. */
class OversizeGuardTest {

    @Test
    void aRecordThatFitsExactlyPassesAndOneByteMoreBecomesAnError() throws Exception {
        TokenEvent event = event("r-1", 3);
        long size = KafkaRecordSize.of("r-1", SingleObjectCodec.TOKEN_EVENT.encode(event));

        assertThat(run(OversizeGuard.tokens(size), event).passed).containsExactly(event);
        Run tooSmall = run(OversizeGuard.tokens(size - 1), event);
        assertThat(tooSmall.passed).isEmpty();
        assertThat(tooSmall.errors).hasSize(1);
        GenerationError error = tooSmall.errors.get(0);
        assertThat(error.getCode()).isEqualTo(ErrorCode.OUTPUT_TOO_LARGE);
        assertThat(error.getRequestId()).isEqualTo("r-1");
        assertThat(error.getMessage())
                .contains("token event seq 3")
                .contains(size + " bytes")
                .contains("max.request.size of " + (size - 1));
    }

    @Test
    void theKeyCountsAsWellAsTheValue() throws Exception {
        GenerationResult small = result("r");
        GenerationResult hugeId = result("x".repeat(900_000));

        Run run = run(OversizeGuard.results(1 << 20), small, hugeId);

        assertThat(run.passed).containsExactly(small);
        assertThat(run.errors)
                .singleElement()
                .satisfies(
                        e -> {
                            assertThat(e.getCode()).isEqualTo(ErrorCode.OUTPUT_TOO_LARGE);
                            assertThat(e.getMessage()).startsWith("the result of this request");
                            assertThat(e.getPayload()).isNull();
                        });
    }

    @Test
    void theQuickBoundOfATokenEventIsNeverBelowItsEncodedSize() {
        java.util.Random random = new java.util.Random(7);
        String[] alphabet = {"a", "é", "€", "😀", "\n"};
        for (int i = 0; i < 2_000; i++) {
            StringBuilder id = new StringBuilder();
            StringBuilder text = new StringBuilder();
            for (int c = random.nextInt(40); c > 0; c--) {
                id.append(alphabet[random.nextInt(alphabet.length)]);
            }
            for (int c = random.nextInt(200); c > 0; c--) {
                text.append(alphabet[random.nextInt(alphabet.length)]);
            }
            List<Integer> tokens = new java.util.ArrayList<>();
            for (int t = random.nextInt(40); t > 0; t--) {
                tokens.add(random.nextBoolean() ? random.nextInt(300) : Integer.MAX_VALUE);
            }
            TokenEvent event =
                    TokenEvent.newBuilder()
                            .setRequestId(id.toString())
                            .setSeq(random.nextInt(Integer.MAX_VALUE))
                            .setTokenIds(tokens)
                            .setText(text.toString())
                            .setFinished(random.nextBoolean())
                            .setFinishReason(
                                    random.nextBoolean()
                                            ? null
                                            : io.tetris.schemas.FinishReason.values()[
                                                    random.nextInt(
                                                            io.tetris.schemas.FinishReason.values()
                                                                    .length)])
                            .build();
            long exact =
                    KafkaRecordSize.of(
                            event.getRequestId(), SingleObjectCodec.TOKEN_EVENT.encode(event));
            assertThat(OversizeGuard.tokenEventBound(event))
                    .as(event.toString())
                    .isGreaterThanOrEqualTo(exact);
        }
    }

    private record Run(List<Object> passed, List<GenerationError> errors) {}

    @SafeVarargs
    private static <T> Run run(OversizeGuard<T> guard, T... records) throws Exception {
        try (OneInputStreamOperatorTestHarness<T, T> harness =
                ProcessFunctionTestHarnesses.forProcessFunction(guard)) {
            for (T record : records) {
                harness.processElement(record, 0);
            }
            List<GenerationError> errors =
                    harness.getSideOutput(OversizeGuard.TOO_LARGE) == null
                            ? List.of()
                            : Objects.requireNonNull(harness.getSideOutput(OversizeGuard.TOO_LARGE))
                                    .stream()
                                    .map(StreamRecord::getValue)
                                    .toList();
            return new Run(List.copyOf(harness.extractOutputValues()), errors);
        }
    }

    static TokenEvent event(String id, int seq) {
        return TokenEvent.newBuilder()
                .setRequestId(id)
                .setSeq(seq)
                .setTokenIds(List.of(72, 105))
                .setText("Hi")
                .build();
    }

    static GenerationResult result(String id) {
        return GenerationResult.newBuilder()
                .setRequestId(id)
                .setText("Hi")
                .setTokenIds(List.of(72, 105))
                .setFinishReason(FinishReason.LENGTH)
                .setUsage(new Usage(1, 2))
                .setSpeculation(SpeculationStats.newBuilder().build())
                .setTimings(Timings.newBuilder().build())
                .setPolicy("tetris")
                .build();
    }
}
