package io.tetris.operators.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.engine.RequestValidator;
import io.tetris.model.BundledModels;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.schemas.DecodeFailure;
import io.tetris.schemas.Decoded;
import io.tetris.schemas.GenerationRequest;
import org.junit.jupiter.api.Test;

/** Every hostile input of the table is refused with its specific code, never an exception. */
class HostileInputTest {

    @Test
    void theConfiguredPromptLimitApplies() {
        try (HuggingFaceTextTokenizer tokenizer =
                HuggingFaceTextTokenizer.load(BundledModels.tokenizer())) {
            RequestValidator validator =
                    new RequestValidator(
                            tokenizer,
                            new io.tetris.engine.RequestLimits(4096, 4096, 8, 64, 10),
                            512);
            byte[] shortPrompt =
                    "{\"request_id\":\"s\",\"prompt\":\"0123456789\"}"
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] longPrompt =
                    "{\"request_id\":\"l\",\"prompt\":\"0123456789a\"}"
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertThat(validator.validate(shortPrompt).isOk()).isTrue();
            DecodeFailure failure = validator.validate(longPrompt).asFailure().orElseThrow();
            assertThat(failure.code()).isEqualTo(io.tetris.schemas.ErrorCode.PROMPT_TOO_LONG);
            assertThat(failure.reason()).contains("tetris.limits.max-prompt-tokens");
        }
    }

    @Test
    void eachBadInputGetsItsCode() {
        try (HuggingFaceTextTokenizer tokenizer =
                HuggingFaceTextTokenizer.load(BundledModels.tokenizer())) {
            RequestValidator validator =
                    new RequestValidator(
                            tokenizer,
                            new io.tetris.engine.RequestLimits(
                                    HostileInputs.MAX_PAYLOAD_BYTES, 4096, 8, 64),
                            512);
            assertThat(HostileInputs.all()).hasSizeGreaterThanOrEqualTo(33);
            for (HostileInputs.Case c : HostileInputs.all()) {
                Decoded<GenerationRequest> result = validator.validate(c.value());
                DecodeFailure failure =
                        result.asFailure()
                                .orElseThrow(() -> new AssertionError(c.name() + " was accepted"));
                assertThat(failure.code())
                        .as(c.name() + ": " + failure.reason())
                        .isEqualTo(c.code());
                assertThat(failure.requestId()).as(c.name()).isEqualTo(c.requestId());
            }
        }
    }
}
