package io.tetris.operators.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.SingleObjectCodec;
import java.util.List;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** {@link ErrorSizeGuard}: every error reaches the sink, small enough for it. */
class ErrorSizeGuardTest {

    private static final int LIMIT = 1 << 20;

    @Test
    void anErrorWithAHugeIdLosesItsBytesAndIdButKeepsItsCode() throws Exception {
        String id = "b".repeat(600_000);
        GenerationError huge =
                new ErrorRecords(1024, Integer.MAX_VALUE)
                        .of(ErrorCode.EMPTY_PROMPT, "prompt is empty", id, new byte[700_000], 5L);
        GenerationError small = new ErrorRecords().of(ErrorCode.QUEUE_FULL, "full", "q", null, 6L);

        List<GenerationError> out = run(new ErrorSizeGuard(LIMIT), huge, small);

        assertThat(out).hasSize(2);
        GenerationError shrunk = out.get(0);
        assertThat(shrunk.getCode()).isEqualTo(ErrorCode.EMPTY_PROMPT);
        assertThat(shrunk.getRequestId()).isNull();
        assertThat(shrunk.getPayload()).isNull();
        assertThat(shrunk.getPayloadSize()).isEqualTo(700_000);
        assertThat(shrunk.getMessage())
                .startsWith("prompt is empty [request_id not kept")
                .contains("bbbb");
        assertThat(KafkaRecordSize.of(null, SingleObjectCodec.ERROR.encode(shrunk)))
                .isLessThanOrEqualTo(LIMIT);
        assertThat(out.get(1)).isEqualTo(small);
    }

    @Test
    void aLongMessageIsCutToTheSmallestLimit() throws Exception {
        GenerationError error =
                GenerationError.newBuilder()
                        .setCode(ErrorCode.INTERNAL)
                        .setMessage("m".repeat(50_000))
                        .build();

        GenerationError out =
                run(new ErrorSizeGuard(ErrorSizeGuard.MIN_MAX_RECORD_BYTES), error).get(0);

        assertThat(KafkaRecordSize.of(null, SingleObjectCodec.ERROR.encode(out)))
                .isLessThanOrEqualTo(ErrorSizeGuard.MIN_MAX_RECORD_BYTES);
        assertThat(out.getMessage()).startsWith("mmm").endsWith("more characters)");
    }

    @Test
    void refusesALimitNoErrorCanBeShrunkTo() {
        assertThatThrownBy(() -> new ErrorSizeGuard(ErrorSizeGuard.MIN_MAX_RECORD_BYTES - 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static List<GenerationError> run(ErrorSizeGuard guard, GenerationError... errors)
            throws Exception {
        try (OneInputStreamOperatorTestHarness<GenerationError, GenerationError> harness =
                ProcessFunctionTestHarnesses.forProcessFunction(guard)) {
            for (GenerationError error : errors) {
                harness.processElement(error, 0);
            }
            return List.copyOf(harness.extractOutputValues());
        }
    }
}
