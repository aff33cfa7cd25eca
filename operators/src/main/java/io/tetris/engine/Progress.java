package io.tetris.engine;

import io.tetris.schemas.FinishReason;

/**
 * What applying one round to a sequence produced for clients.
 *
 * @param tokenIds {@code [new]} tokens to send in this round's token event (may be empty)
 * @param text the text delta to send, whole UTF-8 characters only (may be empty)
 * @param finishReason why the sequence finished, or null while it runs
 */
public record Progress(int[] tokenIds, String text, FinishReason finishReason) {

    public boolean finished() {
        return finishReason != null;
    }

    /** Whether a token event should be sent for this round. */
    public boolean hasEvent() {
        return tokenIds.length > 0 || !text.isEmpty() || finished();
    }
}
