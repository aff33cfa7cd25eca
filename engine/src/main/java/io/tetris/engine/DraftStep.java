package io.tetris.engine;

import java.util.List;

/**
 * The draft step of a {@link Round}: proposals for a batch. {@link Drafter} runs the draft model;
 * the simulator replays proposals recorded in a trace.
 */
public interface DraftStep {

    /**
     * Drafts up to {@code draftLength} tokens per sequence (fewer where its {@code maxDraft} is
     * lower).
     */
    Drafts draft(List<SequenceView> batch, int draftLength);

    /**
     * Brings the draft model up to date with sequences it has never seen (new or restored) before
     * the round's draft steps, so a step is a step; {@link #draft} works without it too.
     */
    default void prefill(List<SequenceView> batch) {}
}
