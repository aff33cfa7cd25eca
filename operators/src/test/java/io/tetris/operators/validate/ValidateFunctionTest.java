package io.tetris.operators.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/**
 * {@link ValidateFunction} on the poison pills: request ids far over the limit are refused
 * with small errors that do not carry them, whatever else is wrong with the request.
 */
class ValidateFunctionTest {

    @Test
    void hugeRequestIdsAreRefusedWithSmallErrorsWithoutTheId() throws Exception {
        List<GenerationError> errors =
                validate(
                        config(null),
                        json("{\"request_id\":\"" + "a".repeat(900_000) + "\",\"prompt\":\"hi\"}"),
                        json("{\"request_id\":\"" + "b".repeat(600_000) + "\",\"prompt\":\"\"}"));

        assertThat(errors)
                .extracting(GenerationError::getCode)
                .containsExactly(ErrorCode.REQUEST_ID_TOO_LONG, ErrorCode.REQUEST_ID_TOO_LONG);
        for (GenerationError error : errors) {
            assertThat(error.getRequestId()).isNull();
            assertThat(error.getMessage())
                    .contains("at most 256")
                    .contains("tetris.limits.max-request-id-length");
            assertThat(SingleObjectCodec.ERROR.encode(error).length).isLessThan(8 * 1024);
        }
    }

    @Test
    void theIdLimitIsConfigurable() throws Exception {
        String id = "c".repeat(300);
        TetrisConfig raised = config(300);

        try (OneInputStreamOperatorTestHarness<byte[], GenerationRequest> harness =
                harness(raised)) {
            harness.processElement(json("{\"request_id\":\"" + id + "\",\"prompt\":\"hi\"}"), 0);

            assertThat(harness.extractOutputValues())
                    .extracting(GenerationRequest::getRequestId)
                    .containsExactly(id);
        }
        assertThat(validate(config(299), json("{\"request_id\":\"" + id + "\",\"prompt\":\"hi\"}")))
                .extracting(GenerationError::getCode)
                .containsExactly(ErrorCode.REQUEST_ID_TOO_LONG);
    }

    @Test
    void aReadableIdOverTheLimitIsNotCopiedIntoADecodeError() throws Exception {
        byte[] value = json("{\"request_id\":\"" + "d".repeat(5000) + "\",\"prompt\":\"x\",");

        GenerationError error = validate(config(null), value).get(0);

        assertThat(error.getCode()).isEqualTo(ErrorCode.MALFORMED_JSON);
        assertThat(error.getRequestId()).isNull();
        assertThat(error.getMessage()).contains("request_id not kept: it has 5000 characters");
    }

    private static List<GenerationError> validate(TetrisConfig config, byte[]... values)
            throws Exception {
        try (OneInputStreamOperatorTestHarness<byte[], GenerationRequest> harness =
                harness(config)) {
            for (byte[] value : values) {
                harness.processElement(value, 0);
            }
            assertThat(harness.extractOutputValues()).isEmpty();
            return Objects.requireNonNull(harness.getSideOutput(ValidateFunction.ERRORS)).stream()
                    .map(StreamRecord::getValue)
                    .toList();
        }
    }

    private static OneInputStreamOperatorTestHarness<byte[], GenerationRequest> harness(
            TetrisConfig config) throws Exception {
        return ProcessFunctionTestHarnesses.forProcessFunction(new ValidateFunction(config));
    }

    private static TetrisConfig config(Integer maxRequestIdLength) {
        Configuration conf = io.tetris.operators.config.BundledModelsConfig.configuration();
        if (maxRequestIdLength != null) {
            conf.set(TetrisOptions.MAX_REQUEST_ID_LENGTH, maxRequestIdLength);
        }
        return TetrisConfig.from(conf);
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
