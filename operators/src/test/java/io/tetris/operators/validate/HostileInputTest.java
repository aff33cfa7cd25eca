package io.tetris.operators.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.config.TetrisConfig;
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
    void eachBadInputGetsItsCode() {
        try (HuggingFaceTextTokenizer tokenizer =
                HuggingFaceTextTokenizer.load(BundledModels.tokenizer())) {
            RequestValidator validator =
                    new RequestValidator(
                            tokenizer,
                            new TetrisConfig.Limits(HostileInputs.MAX_PAYLOAD_BYTES, 4096, 8, 64),
                            512);
            assertThat(HostileInputs.all()).hasSizeGreaterThanOrEqualTo(25);
            for (HostileInputs.Case c : HostileInputs.all()) {
                Decoded<GenerationRequest> result = validator.validate(c.value());
                DecodeFailure failure =
                        result.asFailure()
                                .orElseThrow(() -> new AssertionError(c.name() + " was accepted"));
                assertThat(failure.code())
                        .as(c.name() + ": " + failure.reason())
                        .isEqualTo(c.code());
                if (c.requestId() != null) {
                    assertThat(failure.requestId()).as(c.name()).isEqualTo(c.requestId());
                }
            }
        }
    }
}
