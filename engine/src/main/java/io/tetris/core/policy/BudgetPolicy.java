package io.tetris.core.policy;

/**
 * How one verifier replica spends speculation in a round: how many tokens to draft per sequence,
 * and how many of them the target verifies. One instance per replica; it may learn from the
 * outcomes it is shown, so the same instance must see a round's {@link #draftLength}, {@link
 * #allocate} and {@link #observe} in that order.
 */
public interface BudgetPolicy {

    /**
     * The configuration name ({@code none}, {@code fixed}, {@code dsd}, {@code tetris}, {@code
     * tetris-adaptive}).
     */
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
     * Like {@link #allocate(double[][], double[], RoundShape)}, also told which calibration group
     * each request belongs to (0 greedy, 1 sampled), for policies that learn acceptance per group.
     *
     * @param groups {@code [batch]} calibration group of each request
     */
    default Allocation allocate(
            double[][] draftLogProbs, double[] weights, int[] groups, RoundShape shape) {
        return allocate(draftLogProbs, weights, shape);
    }

    /** How well this policy's acceptance estimates matched outcomes, if it keeps estimates. */
    default java.util.Optional<CalibrationReport> calibration() {
        return java.util.Optional.empty();
    }

    /**
     * Feedback after verification.
     *
     * @param verified {@code [batch]} draft tokens verified per sequence
     * @param accepted {@code [batch]} of those, accepted
     */
    default void observe(int[] verified, int[] accepted) {}
}
