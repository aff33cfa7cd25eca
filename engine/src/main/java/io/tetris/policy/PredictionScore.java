package io.tetris.policy;

/**
 * How well probability predictions match 0/1 outcomes: ranking quality (AUC), calibration (expected
 * calibration error over ten equal-width bins) and the Brier score. Predictions are kept in a fine
 * histogram (1,000 bins), so memory is constant however many are added and the AUC is exact up to
 * ties within a bin.
 */
public final class PredictionScore {

    private static final int BINS = 10;
    private static final int RANK_BINS = 1000;

    private final double[] predicted = new double[BINS];
    private final double[] outcomes = new double[BINS];
    private final long[] positives = new long[RANK_BINS];
    private final long[] negatives = new long[RANK_BINS];
    private double squaredError;
    private long total;

    /** Adds one prediction in [0, 1] and its outcome. */
    public void add(double prediction, boolean outcome) {
        double p = Double.isNaN(prediction) ? 0 : Math.max(0, Math.min(1, prediction));
        int b = Math.min(BINS - 1, (int) (p * BINS));
        predicted[b] += p;
        double y = outcome ? 1 : 0;
        outcomes[b] += y;
        int r = Math.min(RANK_BINS - 1, (int) (p * RANK_BINS));
        if (outcome) {
            positives[r]++;
        } else {
            negatives[r]++;
        }
        squaredError += (p - y) * (p - y);
        total++;
    }

    /** Expected calibration error; 0 before any prediction. */
    public double expectedError() {
        if (total == 0) {
            return 0;
        }
        double sum = 0;
        for (int b = 0; b < BINS; b++) {
            sum += Math.abs(predicted[b] - outcomes[b]);
        }
        return sum / total;
    }

    /** Mean squared error of the predictions (Brier score); 0 before any prediction. */
    public double brierScore() {
        return total == 0 ? 0 : squaredError / total;
    }

    /**
     * Probability that a random accepted token was predicted higher than a random rejected one
     * (ties count half); 0.5 when either class is missing.
     */
    public double auc() {
        long below = 0; // negatives in lower bins
        double wins = 0;
        long pos = 0;
        long neg = 0;
        for (int r = 0; r < RANK_BINS; r++) {
            wins += positives[r] * (below + 0.5 * negatives[r]);
            below += negatives[r];
            pos += positives[r];
            neg += negatives[r];
        }
        return pos == 0 || neg == 0 ? 0.5 : wins / ((double) pos * neg);
    }

    public long count() {
        return total;
    }

    /** This score's figures, as a value. */
    public CalibrationReport.Score snapshot() {
        return new CalibrationReport.Score(total, auc(), expectedError(), brierScore());
    }
}
