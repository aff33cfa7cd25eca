package io.tetris.core;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * Lossless verification of one sequence's draft tokens in one round (Leviathan et al. 2023, Chen et
 * al. 2023): the emitted tokens are distributed exactly as if sampled from the target alone.
 *
 * <p>Output tokens = accepted tokens + one recovered token (at the first rejection) or one bonus
 * token (when every verified draft token was accepted), in vLLM's vocabulary.
 */
public final class SpeculativeSampling {

    private SpeculativeSampling() {}

    /**
     * Speculative sampling of one round.
     *
     * <p>Random numbers are drawn from {@code uniforms} (each in {@code [0, 1)}) in this order: one
     * acceptance draw per draft position, in position order, stopping after the first rejection;
     * then exactly one draw to sample the recovered or bonus token. A round that accepts {@code a}
     * of {@code K} drafts therefore draws {@code a + 2} numbers if it rejected one and {@code K +
     * 1} if it accepted all; draw {@code d} of a round can be keyed to absolute position {@code
     * start + d} for reproducible replays.
     *
     * @param targetProbs {@code [K + 1][vocab]} the target's distribution at each draft position
     *     and one past the last
     * @param draftProbs {@code [K][vocab]} the draft's distribution the draft tokens were sampled
     *     from
     * @param draftTokens {@code [K]} the draft tokens selected for verification
     * @return the accepted prefix of {@code draftTokens} followed by exactly one token
     */
    public static int[] verify(
            float[][] targetProbs,
            float[][] draftProbs,
            int[] draftTokens,
            DoubleSupplier uniforms) {
        Objects.requireNonNull(uniforms, "uniforms");
        int k = checkShapes(targetProbs, draftProbs, draftTokens);
        for (int j = 0; j < k; j++) {
            int token = draftTokens[j];
            float p = targetProbs[j][token];
            float q = draftProbs[j][token];
            // Accept with probability min(1, p/q); `u * q < p` also rejects a token the target
            // gives zero probability even when q is (impossibly) zero.
            if (!(uniforms.getAsDouble() * q < p)) {
                int recovered =
                        sampleResidual(targetProbs[j], draftProbs[j], uniforms.getAsDouble());
                return withLast(draftTokens, j, recovered);
            }
        }
        int bonus = sample(targetProbs[k], uniforms.getAsDouble());
        return withLast(draftTokens, k, bonus);
    }

    /**
     * Greedy verification: accept while {@code draftTokens[j] == targetArgmax[j]}, then emit the
     * target's token at the stop.
     *
     * @param targetArgmax {@code [K + 1]} the target's argmax at each draft position and one past
     * @param draftTokens {@code [K]}
     */
    public static int[] verifyGreedy(int[] targetArgmax, int[] draftTokens) {
        Objects.requireNonNull(targetArgmax, "targetArgmax");
        Objects.requireNonNull(draftTokens, "draftTokens");
        if (targetArgmax.length != draftTokens.length + 1) {
            throw new IllegalArgumentException(
                    "targetArgmax needs draftTokens.length + 1 = "
                            + (draftTokens.length + 1)
                            + " entries, has "
                            + targetArgmax.length);
        }
        int j = 0;
        while (j < draftTokens.length && draftTokens[j] == targetArgmax[j]) {
            j++;
        }
        return withLast(draftTokens, j, targetArgmax[j]);
    }

    /**
     * Samples from {@code norm(max(0, p - q))}; falls back to {@code p} when the residual has no
     * mass (only reachable through float rounding when {@code p} and {@code q} nearly coincide).
     */
    static int sampleResidual(float[] p, float[] q, double u) {
        double total = 0;
        for (int v = 0; v < p.length; v++) {
            total += Math.max(0f, p[v] - q[v]);
        }
        if (!(total > 0)) {
            return sample(p, u);
        }
        double target = u * total;
        double cumulative = 0;
        int last = -1;
        for (int v = 0; v < p.length; v++) {
            double r = Math.max(0f, p[v] - q[v]);
            if (r > 0) {
                cumulative += r;
                last = v;
                if (target < cumulative) {
                    return v;
                }
            }
        }
        return last;
    }

    /**
     * Inverse-CDF sample of a (possibly unnormalised) distribution; never returns a zero-mass
     * token.
     */
    public static int sample(float[] probs, double u) {
        double total = 0;
        for (float p : probs) {
            total += p;
        }
        if (!(total > 0)) {
            throw new IllegalArgumentException("distribution has no mass");
        }
        double target = u * total;
        double cumulative = 0;
        int last = -1;
        for (int v = 0; v < probs.length; v++) {
            if (probs[v] > 0) {
                cumulative += probs[v];
                last = v;
                if (target < cumulative) {
                    return v;
                }
            }
        }
        return last;
    }

    private static int[] withLast(int[] draftTokens, int accepted, int last) {
        int[] out = Arrays.copyOf(draftTokens, accepted + 1);
        out[accepted] = last;
        return out;
    }

    private static int checkShapes(float[][] targetProbs, float[][] draftProbs, int[] draftTokens) {
        Objects.requireNonNull(targetProbs, "targetProbs");
        Objects.requireNonNull(draftProbs, "draftProbs");
        Objects.requireNonNull(draftTokens, "draftTokens");
        int k = draftTokens.length;
        if (targetProbs.length != k + 1 || draftProbs.length != k) {
            throw new IllegalArgumentException(
                    "expected "
                            + (k + 1)
                            + " target rows and "
                            + k
                            + " draft rows for "
                            + k
                            + " draft tokens, got "
                            + targetProbs.length
                            + " and "
                            + draftProbs.length);
        }
        return k;
    }
}
