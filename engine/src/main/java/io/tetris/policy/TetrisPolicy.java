package io.tetris.policy;

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
    public int[] plan(String[] ids, int[] groups, RoundShape shape) {
        return BudgetPolicy.uniform(draftLength(shape), ids.length);
    }

    /** Tokens to draft for every sequence of a batch of this shape. */
    int draftLength(RoundShape shape) {
        return active(shape) ? k + extra : k;
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
    public void learn(RoundOutcome outcome) {
        if (last != null) {
            predictor.observe(
                    last, outcome.verified(), outcome.accepted(), outcome.targetMargins());
            last = null;
        }
    }

    @Override
    public byte[] learned() {
        return predictor == null ? new byte[0] : LearnedState.write(predictor::write);
    }

    @Override
    public void restore(byte[] learned) {
        if (predictor == null) {
            BudgetPolicy.super.restore(learned);
        } else if (learned.length > 0) {
            LearnedState.read(learned, predictor::read);
        }
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
