package io.tetris.policy;

import java.util.Arrays;

/** Short forms of the policy API for tests that give a policy bare draft probabilities. */
final class Policies {

    private Policies() {}

    /** The longest draft {@code policy} plans for a batch of this shape. */
    static int draftLength(BudgetPolicy policy, RoundShape shape) {
        int n = Math.max(1, shape.batchSize());
        String[] ids = new String[n];
        Arrays.fill(ids, "");
        return Arrays.stream(policy.plan(ids, new int[n], shape)).max().orElse(0);
    }

    static Allocation allocate(
            BudgetPolicy policy, double[][] logProbs, double[] weights, RoundShape shape) {
        return allocate(policy, logProbs, weights, new int[logProbs.length], shape);
    }

    static Allocation allocate(
            BudgetPolicy policy,
            double[][] logProbs,
            double[] weights,
            int[] groups,
            RoundShape shape) {
        return policy.allocate(Candidates.of(logProbs, weights, groups), shape);
    }
}
