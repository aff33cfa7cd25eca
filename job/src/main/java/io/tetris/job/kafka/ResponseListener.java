package io.tetris.job.kafka;

import io.tetris.schemas.DecodeFailure;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;

/**
 * Receives the job's answers from a {@link GenerationClient}. All methods are called on the
 * client's single reader thread, one at a time, so implementations need no locking of their own but
 * must not block for long. An exception thrown by a method is logged and does not stop the client.
 */
public interface ResponseListener {

    /**
     * A token event; for each request exactly once per seq and in seq order (0, 1, 2, ...), even
     * though the topic may hold duplicates.
     */
    default void onToken(TokenEvent event) {}

    /** A committed result (aborted transactions are never delivered). */
    default void onResult(GenerationResult result) {}

    /**
     * An error. When the job could not read the request id but the error's payload is a value this
     * client sent, the client fills in that request's id.
     */
    default void onError(GenerationError error) {}

    /** A value on a response topic that is not a record of that topic's schema. */
    default void onUndecodable(String topic, long offset, DecodeFailure failure) {}

    /** A listener that ignores everything (for callers that only use {@code awaitAll}). */
    static ResponseListener ignoring() {
        return new ResponseListener() {};
    }
}
