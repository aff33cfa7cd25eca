package io.tetris.schemas;

import static org.assertj.core.api.Assertions.assertThat;

/** Small helpers to unwrap {@link Decoded} in assertions. */
final class DecodedAssert {

    private DecodedAssert() {}

    static <T> T assertOk(Decoded<T> decoded) {
        assertThat(decoded.asFailure()).as("decode failure").isEmpty();
        return decoded.toOptional().orElseThrow();
    }

    static DecodeFailure assertFailed(Decoded<?> decoded, ErrorCode code) {
        assertThat(decoded.toOptional()).as("decoded value").isEmpty();
        DecodeFailure failure = decoded.asFailure().orElseThrow();
        assertThat(failure.code()).as("code of %s", failure).isEqualTo(code);
        assertThat(failure.reason()).isNotBlank();
        return failure;
    }
}
