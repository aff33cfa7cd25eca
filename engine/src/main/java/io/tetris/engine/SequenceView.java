package io.tetris.engine;

import io.tetris.core.SamplingParams;

/**
 * What the draft and verify steps need to know about one running sequence in one round.
 *
 * @param id the sequence (request) id, also its KV cache key
 * @param tokens {@code [committed]} prompt plus generated tokens so far
 * @param params the sampling transform, shared by draft and target
 * @param seed the request's random seed
 * @param priority the request's weight in weighted TETRIS selection, above 0
 * @param maxDraft at most this many tokens may be drafted for it this round (what is left of its
 *     token budget and of the model context)
 */
public record SequenceView(
        String id, int[] tokens, SamplingParams params, long seed, double priority, int maxDraft) {}
