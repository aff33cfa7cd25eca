package io.tetris.operators.output;

import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.SingleObjectCodec;

/**
 * Upper bounds, in bytes, of the job's output records as Kafka records ({@link KafkaRecordSize}),
 * derived from the configured limits: the largest token event, result and error a request that
 * passed validation can make the job write. The job compares them with the sinks' {@code
 * max.request.size} at start, so that a configuration under which legitimate records may not fit is
 * reported before such a record turns into an {@code OUTPUT_TOO_LARGE} error.
 *
 * <p>What bounds them: the request id (the record key, and a field of each value) has at most
 * {@code tetris.limits.max-request-id-length} characters of at most 3 UTF-8 bytes each; a request
 * generates at most {@code min(max-new-tokens, max-context)} tokens, each an id (a 5-byte varint)
 * and text of at most the longest vocabulary entry; error records are bounded by {@link
 * ErrorRecords}. Avro ints and longs are counted at their largest varint size.
 *
 * @param tokenEvent bytes of the largest token event
 * @param result bytes of the largest result
 * @param error bytes of the largest error
 */
public record OutputBounds(long tokenEvent, long result, long error) {

    private static final int INT = 5;
    private static final int LONG = 10;
    private static final int DOUBLE = 8;

    /** An array or string: length or block-count varint, and the array's closing zero. */
    private static final int FRAMING = INT + 1;

    /** Longest budget policy name ("tetris-adaptive") with room to spare. */
    private static final int POLICY_NAME = 32;

    /** Bytes of a UTF-8 character held back from one event and sent with the next. */
    private static final int HELD_BACK = 3;

    /**
     * Bounds for {@code config}.
     *
     * @param longestTokenBytes UTF-8 bytes of the longest vocabulary entry (see {@code
     *     Vocabulary.longestTokenBytes()})
     */
    public static OutputBounds of(TetrisConfig config, int longestTokenBytes) {
        long id = 3L * config.limits().maxRequestIdLength();
        long keyAndId =
                id + FRAMING + id + KafkaRecordSize.OVERHEAD + SingleObjectCodec.HEADER_BYTES;
        long chunk = config.batch().tokenChunk();
        long tokenEvent =
                keyAndId
                        + INT // seq
                        + FRAMING
                        + INT * chunk // token_ids
                        + FRAMING
                        + chunk * longestTokenBytes
                        + HELD_BACK // text
                        + 1 // finished
                        + 1
                        + INT; // finish_reason
        long tokens =
                Math.min(
                        config.limits().maxNewTokens(), (long) config.models().onnx().maxContext());
        long result =
                keyAndId
                        + FRAMING
                        + tokens * longestTokenBytes // text
                        + FRAMING
                        + INT * tokens // token_ids
                        + INT // finish_reason
                        + 2 * INT // usage
                        + 5 * LONG
                        + FRAMING
                        + LONG * tokens
                        + 3 * DOUBLE // speculation; a draft is never longer than the output
                        + 6 * LONG // timings
                        + FRAMING
                        + POLICY_NAME;
        long error =
                keyAndId
                        + 1 // request_id is a union
                        + INT // code
                        + FRAMING
                        + 3L * (ErrorRecords.MAX_MESSAGE_LENGTH + ErrorRecords.MAX_MESSAGE_EXTRA)
                        + 1
                        + FRAMING
                        + ErrorRecords.DEFAULT_MAX_STORED_PAYLOAD_BYTES // payload
                        + INT // payload_size
                        + LONG; // at_ms
        return new OutputBounds(tokenEvent, result, error);
    }

    /** The largest of the three. */
    public long largest() {
        return Math.max(tokenEvent, Math.max(result, error));
    }
}
