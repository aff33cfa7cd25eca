package io.tetris.engine;

/**
 * A round's draft proposals.
 *
 * @param tokens {@code [batch][drafted_i]} proposed tokens
 * @param probs {@code [batch][drafted_i][vocab]} the (transformed) draft distributions they were
 *     sampled from; rows are null for greedy sequences, which need no distributions
 * @param logProbs {@code [batch][drafted_i]} the draft's confidence in each token, what TETRIS
 *     ranks by: log q of the token under the sampling distribution, or under the untempered
 *     distribution for greedy sequences (whose sampling distribution is one-hot)
 */
public record Drafts(int[][] tokens, float[][][] probs, double[][] logProbs) {}
