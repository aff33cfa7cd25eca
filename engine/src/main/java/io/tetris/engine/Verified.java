package io.tetris.engine;

/**
 * A round's verification outcome.
 *
 * @param emitted {@code [batch][accepted_i + 1]} accepted draft tokens then one recovered or bonus
 *     token
 * @param verified {@code [batch]} draft tokens the target verified
 * @param accepted {@code [batch]} of those, accepted
 */
public record Verified(int[][] emitted, int[] verified, int[] accepted) {}
