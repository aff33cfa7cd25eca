package io.tetris.core.policy;

import io.tetris.core.Tetris;

/**
 * TETRIS as in the official code: draft {@code k + extra} per sequence and verify the globally best
 * {@code k x B} of them (weighted by request priority). Below {@code minBatch} sequences there is
 * nothing to trade between requests, so it behaves as {@code fixed} with window {@code k}.
 */
final class TetrisPolicy implements BudgetPolicy {

    private final int k;
    private final int extra;
    private final int minBatch;

    TetrisPolicy(int k, int extra, int minBatch) {
        if (k < 1 || extra < 0 || minBatch < 1) {
            throw new IllegalArgumentException(
                    "tetris policy needs k >= 1, extra >= 0 and min batch >= 1, got k="
                            + k
                            + ", extra="
                            + extra
                            + ", minBatch="
                            + minBatch);
        }
        this.k = k;
        this.extra = extra;
        this.minBatch = minBatch;
    }

    @Override
    public String name() {
        return "tetris";
    }

    @Override
    public int draftLength(RoundShape shape) {
        return active(shape) ? k + extra : k;
    }

    @Override
    public Allocation allocate(double[][] draftLogProbs, double[] weights, RoundShape shape) {
        if (!active(shape)) {
            return Allocation.window(draftLogProbs, k);
        }
        int budget = k * draftLogProbs.length;
        return new Allocation(Tetris.select(draftLogProbs, weights, budget), budget);
    }

    private boolean active(RoundShape shape) {
        return shape.batchSize() >= minBatch;
    }
}
