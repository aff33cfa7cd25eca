package io.tetris.policy;

import java.util.Arrays;

/** Predicted against measured round times; the median over the last {@value #WINDOW} rounds. */
public final class CostScore {

    private static final int WINDOW = 4096;

    private final double[] errors = new double[WINDOW];
    private int next;
    private int filled;
    private long rounds;
    private double sum;

    /** Adds one round; rounds without a prediction or a time are skipped. */
    public void add(double predictedSeconds, double measuredSeconds) {
        if (!(predictedSeconds > 0) || !(measuredSeconds > 0)) {
            return;
        }
        double e = Math.abs(predictedSeconds - measuredSeconds) / measuredSeconds;
        errors[next] = e;
        next = (next + 1) % WINDOW;
        filled = Math.min(WINDOW, filled + 1);
        rounds++;
        sum += e;
    }

    public CostReport report() {
        if (filled == 0) {
            return new CostReport(0, 0, 0);
        }
        double[] sorted = Arrays.copyOf(errors, filled);
        Arrays.sort(sorted);
        double median =
                filled % 2 == 1
                        ? sorted[filled / 2]
                        : (sorted[filled / 2 - 1] + sorted[filled / 2]) / 2;
        return new CostReport(rounds, median, sum / rounds);
    }
}
