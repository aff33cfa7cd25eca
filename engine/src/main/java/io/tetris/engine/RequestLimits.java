package io.tetris.engine;

import java.io.Serializable;

/**
 * Limits on what a request may ask for. {@code maxRequestIdLength} bounds the one request field
 * that is copied into every output record (and is their Kafka key).
 */
public record RequestLimits(
        int maxPayloadBytes,
        int maxNewTokens,
        int maxStopStrings,
        int maxStopLength,
        int maxPromptTokens,
        int maxRequestIdLength)
        implements Serializable {

    /** Limits with the default request id length. */
    public RequestLimits(
            int maxPayloadBytes,
            int maxNewTokens,
            int maxStopStrings,
            int maxStopLength,
            int maxPromptTokens) {
        this(
                maxPayloadBytes,
                maxNewTokens,
                maxStopStrings,
                maxStopLength,
                maxPromptTokens,
                io.tetris.schemas.ErrorRecords.DEFAULT_MAX_REQUEST_ID_LENGTH);
    }

    /** Limits without a separate prompt cap (the model context still applies). */
    public RequestLimits(
            int maxPayloadBytes, int maxNewTokens, int maxStopStrings, int maxStopLength) {
        this(maxPayloadBytes, maxNewTokens, maxStopStrings, maxStopLength, 0);
    }
}
