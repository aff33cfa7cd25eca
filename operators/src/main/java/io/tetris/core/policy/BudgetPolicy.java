package io.tetris.core.policy;

/**
 * How one verifier replica spends speculation in a round: how many tokens to draft per sequence,
 * and how many of them the target verifies. One instance per replica; it may learn from the
 * outcomes it is shown, so the same instance must see a round's {@link #draftLength}, {@link
 * #allocate} and {@link #observe} in that order.
 */
public interface BudgetPolicy {

    /** The configuration name ({@code none}, {@code fixed}, {@code dsd}, {@code tetris}). */
    String name();

    /** Tokens the draft model proposes for every sequence of the coming round. */
    int draftLength(RoundShape shape);

    /**
     * Leading draft tokens to verify per sequence.
     *
     * @param draftLogProbs {@code [batch][drafted]} draft log-probabilities of the proposed tokens
     * @param weights {@code [batch]} per-request priority weights, each above 0
     */
    Allocation allocate(double[][] draftLogProbs, double[] weights, RoundShape shape);

    /**
     * Feedback after verification.
     *
     * @param verified {@code [batch]} draft tokens verified per sequence
     * @param accepted {@code [batch]} of those, accepted
     */
    default void observe(int[] verified, int[] accepted) {}
}
