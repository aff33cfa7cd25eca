package io.tetris.schemas;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Builds {@link GenerationError} records for the errors topic, keeping at most a configured number
 * of the offending bytes: enough to debug a producer, while a flood of huge bad values cannot
 * inflate the errors topic. {@code payload_size} keeps the original size, so truncation is visible.
 *
 * <p>Immutable and thread-safe.
 */
public final class ErrorRecords {

    /** Default number of offending bytes kept in {@link GenerationError#getPayload()}. */
    public static final int DEFAULT_MAX_STORED_PAYLOAD_BYTES = 1024;

    private final int maxStoredPayloadBytes;

    /** Keeps up to {@link #DEFAULT_MAX_STORED_PAYLOAD_BYTES} bytes of the offending value. */
    public ErrorRecords() {
        this(DEFAULT_MAX_STORED_PAYLOAD_BYTES);
    }

    /**
     * @param maxStoredPayloadBytes how many bytes of the offending value to keep (0 keeps none)
     */
    public ErrorRecords(int maxStoredPayloadBytes) {
        if (maxStoredPayloadBytes < 0) {
            throw new IllegalArgumentException(
                    "maxStoredPayloadBytes must be >= 0: " + maxStoredPayloadBytes);
        }
        this.maxStoredPayloadBytes = maxStoredPayloadBytes;
    }

    /** The configured maximum of stored payload bytes. */
    public int maxStoredPayloadBytes() {
        return maxStoredPayloadBytes;
    }

    /**
     * An error record for a failed decode (or validation) of {@code payload}.
     *
     * @param failure code, reason and, if known, request id
     * @param payload the offending Kafka value; may be {@code null}
     * @param atMs when the error happened, in milliseconds since the Unix epoch
     */
    public GenerationError fromFailure(DecodeFailure failure, byte[] payload, long atMs) {
        Objects.requireNonNull(failure, "failure");
        return of(failure.code(), failure.reason(), failure.requestId(), payload, atMs);
    }

    /**
     * An error record.
     *
     * @param code what went wrong
     * @param message explanation for humans
     * @param requestId the request's id, or {@code null} when unknown
     * @param payload the offending bytes, or {@code null} when there are none or they do not matter
     * @param atMs when the error happened, in milliseconds since the Unix epoch
     */
    public GenerationError of(
            ErrorCode code, String message, String requestId, byte[] payload, long atMs) {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
        ByteBuffer stored = null;
        if (payload != null) {
            int kept = Math.min(payload.length, maxStoredPayloadBytes);
            stored = ByteBuffer.wrap(Arrays.copyOf(payload, kept));
        }
        return GenerationError.newBuilder()
                .setRequestId(requestId)
                .setCode(code)
                .setMessage(message)
                .setPayload(stored)
                .setPayloadSize(payload == null ? 0 : payload.length)
                .setAtMs(atMs)
                .build();
    }
}
