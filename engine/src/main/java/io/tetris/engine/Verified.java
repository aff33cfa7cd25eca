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
 */
public record Verified(int[][] emitted, int[] verified, int[] accepted, float[][] logProbs) {

    /** An outcome without log-probabilities. */
    public Verified(int[][] emitted, int[] verified, int[] accepted) {
        this(emitted, verified, accepted, new float[emitted.length][0]);
    }
}
