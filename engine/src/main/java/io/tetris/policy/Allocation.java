package io.tetris.policy;

/**
 * A round's verification plan.
 *
 * @param verify {@code [batch]} leading draft tokens to verify per sequence
 * @param budget draft tokens the policy was allowed to verify this round (for budget utilisation)
 * @param predictedSeconds the round's model time (drafting and verification) as the policy's cost
 *     model predicted it when planning; NaN for policies without one
 */
public record Allocation(int[] verify, int budget, double predictedSeconds) {

    public Allocation(int[] verify, int budget) {
        this(verify, budget, Double.NaN);
    }

    /** Total draft tokens this plan verifies. */
    public int verified() {
        int total = 0;
        for (int n : verify) {
            total += n;
        }
        return total;
    }

    /** Verifies {@code min(k, drafted)} leading tokens of every row. */
    static Allocation window(double[][] draftLogProbs, int k) {
        int[] verify = new int[draftLogProbs.length];
        for (int i = 0; i < verify.length; i++) {
            verify[i] = Math.min(k, draftLogProbs[i].length);
        }
        return new Allocation(verify, k * verify.length);
    }
}
