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
     * Tokens to draft per sequence in the coming round, so a request the policy expects to reject
     * early does not draft what will not be verified. The default drafts {@link #draftLength} for
     * every one.
     *
     * @param ids {@code [batch]} request ids
     * @param groups {@code [batch]} calibration group of each request (0 greedy, 1 sampled)
     * @return {@code [batch]} at most this many tokens per sequence
     */
    default int[] draftLengths(String[] ids, int[] groups, RoundShape shape) {
        int[] lengths = new int[ids.length];
        java.util.Arrays.fill(lengths, draftLength(shape));
        return lengths;
    }

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

    /**
     * Like {@link #allocate(double[][], double[], int[], RoundShape)} with everything the round
     * knows about its candidates (request ids, token ids, draft distributions), for policies that
     * learn per request.
     */
    default Allocation allocate(Candidates candidates, RoundShape shape) {
        return allocate(candidates.logProbs(), candidates.weights(), candidates.groups(), shape);
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

    /**
     * Feedback after verification, with how sure the target was where each sequence stopped.
     *
     * @param targetMargins {@code [batch]} the target's log-probability lead of its top token over
     *     the runner-up at the last emitted position (NaN where not known)
     */
    default void observe(int[] verified, int[] accepted, double[] targetMargins) {
        observe(verified, accepted);
    }

    /** The round's measured time, after {@link #observe}, for policies that learn costs. */
    default void observeCost(RoundCost cost) {}

    /** How well this policy's cost model predicted its rounds, if it predicts them. */
    default java.util.Optional<CostReport> costReport() {
        return java.util.Optional.empty();
    }

    /**
     * A fresh instance for new requests that keeps what this one learned about the models and the
     * machine (costs, how draft confidence relates to acceptance) but nothing about its requests:
     * what a long-running replica knows when new traffic arrives. Empty for policies that learn
     * nothing worth keeping.
     */
    default java.util.Optional<BudgetPolicy> carryOver() {
        return java.util.Optional.empty();
    }
}
