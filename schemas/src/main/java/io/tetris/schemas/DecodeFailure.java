package io.tetris.schemas;

import java.util.Objects;

/**
 * Why a Kafka value could not be turned into a record: a machine-readable {@link ErrorCode} plus a
 * reason for humans that names the offending field or byte position.
 *
 * <p>It is a value, not an exception, so that the job can route bad input to the errors topic with
 * an ordinary branch instead of a try/catch around every record (see {@link Decoded}).
 *
 * @param code what kind of problem, as written to {@link GenerationError#getCode()}
 * @param reason explanation naming the field or byte position, as written to {@link
 *     GenerationError#getMessage()}
 * @param requestId the request's id when it could still be read from the bad value, else {@code
 *     null}; it lets the client correlate the error with its request
 */
public record DecodeFailure(ErrorCode code, String reason, String requestId) {

    public DecodeFailure {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(reason, "reason");
    }

    /** A failure whose request id is unknown. */
    public DecodeFailure(ErrorCode code, String reason) {
        this(code, reason, null);
    }

    /** The same failure, attributed to the given request id (may be {@code null}). */
    public DecodeFailure withRequestId(String id) {
        return new DecodeFailure(code, reason, id);
    }
}
