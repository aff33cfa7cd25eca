package io.tetris.engine;

import io.tetris.schemas.FinishReason;

/**
 * One token event for clients.
 *
 * @param tokenIds {@code [chunk]} the event's tokens (may be empty, e.g. at end-of-text)
 * @param text the text delta, whole UTF-8 characters only (may be empty)
 * @param finishReason why the sequence finished, or null while it runs
 * @param seq the event's sequence number within its request
 */
public record Progress(int[] tokenIds, String text, FinishReason finishReason, int seq) {

    public boolean finished() {
        return finishReason != null;
    }
}
