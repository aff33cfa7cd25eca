package io.tetris.core.policy;

/**
 * A round's drafted tokens as a policy sees them when it allocates verification.
 *
 * @param ids {@code [batch]} request ids, stable across a request's rounds
 * @param logProbs {@code [batch][drafted_i]} draft log-probabilities of the proposed tokens
 * @param entropies {@code [batch][drafted_i]} entropy in nats of the draft distribution each token
 *     was sampled from; a row is null where the distribution was not computed (greedy rows, whose
 *     logits are reduced to the top token inside the model)
 * @param groups {@code [batch]} calibration group: 0 greedy, 1 sampled
 * @param weights {@code [batch]} priority weights, each above 0
 */
public record Candidates(
        String[] ids, double[][] logProbs, double[][] entropies, int[] groups, double[] weights) {

    public Candidates {
        int n = logProbs.length;
        if (ids.length != n || entropies.length != n || groups.length != n || weights.length != n) {
            throw new IllegalArgumentException("candidates need one id, group and weight per row");
        }
    }

    /** Anonymous candidates (row numbers as ids, no entropies). */
    public static Candidates of(double[][] logProbs, double[] weights, int[] groups) {
        String[] ids = new String[logProbs.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Integer.toString(i);
        }
        return new Candidates(ids, logProbs, new double[logProbs.length][], groups, weights);
    }

    public int size() {
        return logProbs.length;
    }
}
