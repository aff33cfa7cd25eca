package io.tetris.core.policy;

import io.tetris.core.Tetris;
import java.util.Optional;

/**
 * TETRIS as in the official code: draft {@code k + extra} per sequence and verify the globally best
 * {@code k x B} of them (weighted by request priority). Below {@code minBatch} sequences there is
 * nothing to trade between requests, so it behaves as {@code fixed} with window {@code k}.
 *
 * <p>The paper ranks tokens by the draft's own probability; with a {@link AcceptancePredictor} they
 * are ranked by its learned acceptance estimates instead (the same selection over better scores).
 */
final class TetrisPolicy implements BudgetPolicy {

    private final int k;
    private final int extra;
    private final int minBatch;
    private final AcceptancePredictor predictor; // null: rank by draft probability
    private AcceptancePredictor.Prediction last;

    TetrisPolicy(int k, int extra, int minBatch, AcceptancePredictor predictor) {
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
        this.predictor = predictor;
    }

    TetrisPolicy(int k, int extra, int minBatch) {
        this(k, extra, minBatch, null);
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
        return allocate(
                Candidates.of(draftLogProbs, weights, new int[draftLogProbs.length]), shape);
    }

    @Override
    public Allocation allocate(Candidates c, RoundShape shape) {
        double[][] scores = c.logProbs();
        if (predictor != null) {
            last = predictor.predict(c);
            scores = logs(last.estimates());
        }
        if (!active(shape)) {
            return Allocation.window(scores, k);
        }
        int budget = k * scores.length;
        return new Allocation(Tetris.select(scores, c.weights(), budget), budget);
    }

    @Override
    public void observe(int[] verified, int[] accepted) {
        observe(verified, accepted, null);
    }

    @Override
    public void observe(int[] verified, int[] accepted, double[] targetMargins) {
        if (last != null) {
            predictor.observe(last, verified, accepted, targetMargins);
            last = null;
        }
    }

    @Override
    public Optional<BudgetPolicy> carryOver() {
        return Optional.ofNullable(predictor)
                .map(p -> new TetrisPolicy(k, extra, minBatch, p.carryOver()));
    }

    @Override
    public Optional<CalibrationReport> calibration() {
        return Optional.ofNullable(predictor).map(AcceptancePredictor::report);
    }

    static double[][] logs(double[][] estimates) {
        double[][] out = new double[estimates.length][];
        for (int i = 0; i < estimates.length; i++) {
            out[i] = new double[estimates[i].length];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = Math.log(Math.max(1e-9, estimates[i][j]));
            }
        }
        return out;
    }

    private boolean active(RoundShape shape) {
        return shape.batchSize() >= minBatch;
    }
}
