package io.tetris.measure;

import java.util.Arrays;

/** The median of measured values, the one the benchmarks report. */
public final class Median {

    private Median() {}

    /** The median of {@code values} (the mean of the middle two for an even count); NaN if none. */
    public static double of(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
