package io.tetris.engine;

import java.util.List;

/**
 * The verify step of a {@link Round}: what the target accepts of the allocated draft tokens and the
 * tokens each sequence emits. {@link Verifier} runs the target model; the simulator replays
 * acceptance recorded in a trace.
 */
public interface VerifyStep {

    /**
     * @param verify {@code [batch]} leading draft tokens to verify per sequence (the allocation)
     */
    Verified verify(List<SequenceView> batch, Drafts drafts, int[] verify);

    /**
     * Brings the target model up to date with sequences it has never seen (new or restored) before
     * the verification pass; {@link #verify} works without it too.
     */
    default void prefill(List<SequenceView> batch) {}
}
