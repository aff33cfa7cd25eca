package io.tetris.core.policy;

/**
 * Expected calibration error of probability predictions against 0/1 outcomes: predictions are
 * binned into ten equal-width bins, and the error is the outcome-weighted mean gap between the mean
 * prediction and the observed frequency of each bin. 0 is perfect calibration.
 */
public final class CalibrationError {

    private static final int BINS = 10;

    private final double[] predicted = new double[BINS];
    private final double[] outcomes = new double[BINS];
    private final long[] counts = new long[BINS];
    private double squaredError;
    private long total;

    /** Adds one prediction in [0, 1] and its outcome. */
    public void add(double prediction, boolean outcome) {
        double p = Math.max(0, Math.min(1, prediction));
        int b = Math.min(BINS - 1, (int) (p * BINS));
        predicted[b] += p;
        double y = outcome ? 1 : 0;
        outcomes[b] += y;
        counts[b]++;
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

    public long count() {
        return total;
    }
}
