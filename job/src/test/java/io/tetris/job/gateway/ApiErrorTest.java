package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationError;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ApiErrorTest {

    private static final Set<ErrorCode> VALIDATION =
            EnumSet.of(
                    ErrorCode.MISSING_REQUEST_ID,
                    ErrorCode.DUPLICATE_REQUEST_ID,
                    ErrorCode.REQUEST_ID_TOO_LONG,
                    ErrorCode.EMPTY_PROMPT,
                    ErrorCode.PROMPT_TOO_LONG,
                    ErrorCode.INVALID_TOKEN_ID,
                    ErrorCode.CONTROL_CHARACTERS,
                    ErrorCode.INVALID_MAX_NEW_TOKENS,
                    ErrorCode.INVALID_TEMPERATURE,
                    ErrorCode.INVALID_TOP_P,
                    ErrorCode.INVALID_TOP_K,
                    ErrorCode.INVALID_PRIORITY,
                    ErrorCode.TOO_MANY_STOP_STRINGS,
                    ErrorCode.INVALID_STOP_STRING,
                    ErrorCode.INVALID_MAX_DRAFT_TOKENS,
                    ErrorCode.INVALID_UTF8);

    @Test
    void theJobsValidationErrorsAre400QueueFullIs429TheRestServerErrors() {
        for (ErrorCode code : ErrorCode.values()) {
            ApiError error = ApiError.fromJob(jobError(code));
            assertThat(error.code()).isEqualTo(code.name());
            assertThat(error.message()).isEqualTo("message of " + code);
            int expected;
            if (VALIDATION.contains(code)) {
                expected = 400;
            } else if (code == ErrorCode.QUEUE_FULL) {
                expected = 429;
            } else if (code == ErrorCode.PAYLOAD_TOO_LARGE) {
                expected = 413;
            } else {
                expected = 500;
            }
            assertThat(error.status()).as("%s", code).isEqualTo(expected);
        }
    }

    @Test
    void namesTheOpenAiParameterAtFault() {
        assertThat(ApiError.fromJob(jobError(ErrorCode.INVALID_MAX_NEW_TOKENS)).param())
                .isEqualTo("max_tokens");
        assertThat(ApiError.fromJob(jobError(ErrorCode.PROMPT_TOO_LONG)).param())
                .isEqualTo("prompt");
        assertThat(ApiError.fromJob(jobError(ErrorCode.INVALID_STOP_STRING)).param())
                .isEqualTo("stop");
        assertThat(ApiError.fromJob(jobError(ErrorCode.INVALID_TOP_K)).param()).isEqualTo("top_k");
        assertThat(ApiError.fromJob(jobError(ErrorCode.QUEUE_FULL)).param()).isNull();
    }

    @Test
    void hasOpenAisErrorShape() {
        ApiError error = ApiError.fromJob(jobError(ErrorCode.QUEUE_FULL));
        assertThat(error.toJson().toString())
                .isEqualTo(
                        "{\"error\":{\"message\":\"message of QUEUE_FULL\","
                                + "\"type\":\"rate_limit_error\",\"param\":null,"
                                + "\"code\":\"QUEUE_FULL\"}}");
        assertThat(ApiError.timeout(1500).status()).isEqualTo(504);
        assertThat(ApiError.timeout(1500).message()).contains("1500 ms");
        assertThat(ApiError.busy(3).status()).isEqualTo(429);
        assertThat(ApiError.kafkaUnavailable("down").status()).isEqualTo(503);
    }

    private static GenerationError jobError(ErrorCode code) {
        return new ErrorRecords().of(code, "message of " + code, "r1", null, 1L);
    }
}
