package io.tetris.engine;

/**
 * A round's verification outcome.
 *
 * @param emitted {@code [batch][accepted_i + 1]} accepted draft tokens then one recovered or bonus
 *     token
 * @param verified {@code [batch]} draft tokens the target verified
 * @param accepted {@code [batch]} of those, accepted
 * @param logProbs {@code [batch][accepted_i + 1]} the target model's natural-log probability of
 *     each emitted token (its own distribution, before the sampling transform); empty rows where
 *     nothing computed them (a replayed trace)
 * @param targetMargins {@code [batch]} how far the target's most likely token led its runner-up
 *     (log-probability gap) where it chose the last emitted token: how sure the target is where the
 *     next round drafts; NaN where not known
 */
public record Verified(
        int[][] emitted,
        int[] verified,
        int[] accepted,
        float[][] logProbs,
        double[] targetMargins) {

    /** An outcome without log-probabilities or margins. */
    public Verified(int[][] emitted, int[] verified, int[] accepted) {
        this(emitted, verified, accepted, new float[emitted.length][0], nan(emitted.length));
    }

    private static double[] nan(int n) {
        double[] out = new double[n];
        java.util.Arrays.fill(out, Double.NaN);
        return out;
    }
}
