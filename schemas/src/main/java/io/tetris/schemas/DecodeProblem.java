package io.tetris.schemas;

/**
 * Internal control flow of the decoders: thrown deep inside a recursive walk, caught at the
 * decoder's entry point and turned into a {@link DecodeFailure}. It never leaves the package's
 * public methods. No stack trace, as it is an expected outcome and may be frequent.
 */
final class DecodeProblem extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient ErrorCode code;

    DecodeProblem(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    DecodeFailure toFailure(String requestId) {
        return new DecodeFailure(code, getMessage(), requestId);
    }
}
