package io.tetris.schemas;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Builds {@link GenerationError} records for the errors topic, keeping at most a configured number
 * of the offending bytes: enough to debug a producer, while a flood of huge bad values cannot
 * inflate the errors topic. {@code payload_size} keeps the original size, so truncation is visible.
 *
 * <p>Every field copied from the input is bounded, so an error record always fits in a Kafka
 * record: the message is cut to {@link #MAX_MESSAGE_LENGTH} characters, and a request id is kept
 * only when it is at most the configured length and has a UTF-8 form (an unpaired surrogate would
 * be written as {@code ?}, naming another request); otherwise the error has no id and its message
 * says why, with the id's length and first characters so that a client can still recognise its
 * request.
 *
 * <p>Immutable and thread-safe.
 */
public final class ErrorRecords {

    /** Default number of offending bytes kept in {@link GenerationError#getPayload()}. */
    public static final int DEFAULT_MAX_STORED_PAYLOAD_BYTES = 1024;

    /** Default longest request id kept, in characters: the job's default id limit. */
    public static final int DEFAULT_MAX_REQUEST_ID_LENGTH = 256;

    /** Longest message kept, in characters; a longer one is cut and says how much was cut. */
    public static final int MAX_MESSAGE_LENGTH = 2048;

    /**
     * Characters a message may have beyond {@link #MAX_MESSAGE_LENGTH}: the note saying how much
     * was cut, and the note about a request id that was left out.
     */
    public static final int MAX_MESSAGE_EXTRA = 256;

    /** Characters of a dropped request id quoted in the message. */
    private static final int ID_EXCERPT = 32;

    /** Shortest message {@link #shrinkToFit} cuts to before it gives up. */
    private static final int MIN_MESSAGE_LENGTH = 64;

    private final int maxStoredPayloadBytes;
    private final int maxRequestIdLength;

    /**
     * Keeps up to {@link #DEFAULT_MAX_STORED_PAYLOAD_BYTES} bytes of the offending value and ids of
     * up to {@link #DEFAULT_MAX_REQUEST_ID_LENGTH} characters.
     */
    public ErrorRecords() {
        this(DEFAULT_MAX_STORED_PAYLOAD_BYTES);
    }

    /**
     * @param maxStoredPayloadBytes how many bytes of the offending value to keep (0 keeps none)
     */
    public ErrorRecords(int maxStoredPayloadBytes) {
        this(maxStoredPayloadBytes, DEFAULT_MAX_REQUEST_ID_LENGTH);
    }

    /**
     * @param maxStoredPayloadBytes how many bytes of the offending value to keep (0 keeps none)
     * @param maxRequestIdLength longest request id kept, in characters (at least 1)
     */
    public ErrorRecords(int maxStoredPayloadBytes, int maxRequestIdLength) {
        if (maxStoredPayloadBytes < 0) {
            throw new IllegalArgumentException(
                    "maxStoredPayloadBytes must be >= 0: " + maxStoredPayloadBytes);
        }
        if (maxRequestIdLength < 1) {
            throw new IllegalArgumentException(
                    "maxRequestIdLength must be >= 1: " + maxRequestIdLength);
        }
        this.maxStoredPayloadBytes = maxStoredPayloadBytes;
        this.maxRequestIdLength = maxRequestIdLength;
    }

    /** The configured maximum of stored payload bytes. */
    public int maxStoredPayloadBytes() {
        return maxStoredPayloadBytes;
    }

    /** The longest request id kept, in characters. */
    public int maxRequestIdLength() {
        return maxRequestIdLength;
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
        String text = cut(message, MAX_MESSAGE_LENGTH);
        String id = requestId;
        if (id != null) {
            int surrogate = StrictUtf8.firstUnpairedSurrogate(id);
            if (surrogate >= 0) {
                text += droppedId(id, "it has an unpaired surrogate at character " + surrogate);
                id = null;
            } else if (id.length() > maxRequestIdLength) {
                text +=
                        droppedId(
                                id,
                                "it has "
                                        + id.length()
                                        + " characters, more than "
                                        + maxRequestIdLength);
                id = null;
            }
        }
        return GenerationError.newBuilder()
                .setRequestId(id)
                .setCode(code)
                .setMessage(text)
                .setPayload(stored)
                .setPayloadSize(payload == null ? 0 : payload.length)
                .setAtMs(atMs)
                .build();
    }

    /**
     * {@code error} made small enough for {@code fits}: first without the offending bytes ({@code
     * payload_size} still tells their size), then without the request id (the message gives its
     * length and first characters), then with the message cut, down to {@value #MIN_MESSAGE_LENGTH}
     * characters. Code and time are always kept.
     *
     * @return {@code error} itself when it fits, else the first smaller form that fits, else the
     *     smallest form
     */
    public static GenerationError shrinkToFit(
            GenerationError error, Predicate<GenerationError> fits) {
        if (fits.test(error)) {
            return error;
        }
        GenerationError smaller = GenerationError.newBuilder(error).setPayload(null).build();
        if (fits.test(smaller)) {
            return smaller;
        }
        String id = smaller.getRequestId();
        if (id != null) {
            String message =
                    cut(smaller.getMessage(), MAX_MESSAGE_LENGTH)
                            + droppedId(id, "the error would not fit in a Kafka record with it");
            smaller =
                    GenerationError.newBuilder(smaller)
                            .setRequestId(null)
                            .setMessage(message)
                            .build();
            if (fits.test(smaller)) {
                return smaller;
            }
        }
        String message = smaller.getMessage();
        for (int length = message.length() / 2; length >= MIN_MESSAGE_LENGTH; length = length / 2) {
            smaller = GenerationError.newBuilder(smaller).setMessage(cut(message, length)).build();
            if (fits.test(smaller)) {
                return smaller;
            }
        }
        return smaller;
    }

    /** The note appended to a message when the request id is left out. */
    private static String droppedId(String id, String why) {
        return " [request_id not kept: " + why + "; it starts \"" + cut(id, ID_EXCERPT) + "\"]";
    }

    /**
     * {@code text} with unpaired surrogates replaced by U+FFFD (they have no UTF-8 form), cut to
     * about {@code max} characters without splitting a surrogate pair, saying how much was cut.
     */
    static String cut(String text, int max) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), max + 32));
        int i = 0;
        while (i < text.length() && out.length() < max) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)
                    && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(i + 1));
                i += 2;
            } else {
                out.append(Character.isSurrogate(c) ? '\uFFFD' : c);
                i++;
            }
        }
        if (i < text.length()) {
            out.append("... (").append(text.length() - i).append(" more characters)");
        }
        return out.toString();
    }
}
