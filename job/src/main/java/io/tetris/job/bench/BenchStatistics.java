package io.tetris.job.bench;

import io.tetris.measure.RunResult;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Confidence intervals for the bench's claims. Throughput ratios pair the repeats of two
 * configurations by their index (repeats are interleaved, so repeat r of both ran in the same phase
 * of the machine) and use Student's t over the log ratios. Verification success rates are exact
 * counts of one workload, so their uncertainty is the workload's: a paired bootstrap over requests.
 */
public final class BenchStatistics {

    private static final double[] T_975 = {
        Double.NaN,
        12.706,
        4.303,
        3.182,
        2.776,
        2.571,
        2.447,
        2.365,
        2.306,
        2.262,
        2.228,
        2.201,
        2.179,
        2.160,
        2.145,
        2.131,
        2.120,
        2.110,
        2.101,
        2.093,
        2.086
    };

    private BenchStatistics() {}

    /**
     * An estimate with its 95 % interval; NaN bounds when there is too little data.
     *
     * @param estimate the point estimate
     * @param low lower bound
     * @param high upper bound
     */
    public record Interval(double estimate, double low, double high) {

        /** Whether the whole interval is at or above {@code bound}. */
        public boolean above(double bound) {
            return low >= bound;
        }

        public String format(String unit) {
            if (Double.isNaN(low)) {
                return String.format(java.util.Locale.ROOT, "%.3f%s", estimate, unit);
            }
            return String.format(
                    java.util.Locale.ROOT, "%.3f%s [%.3f, %.3f]", estimate, unit, low, high);
        }
    }

    /** Ratio of {@code a}'s to {@code b}'s tokens/s, paired by repeat. */
    public static Interval throughputRatio(List<RunResult> a, List<RunResult> b) {
        return ratio(a, b, RunResult::tokensPerSecond);
    }

    /** Ratio of {@code a}'s to {@code b}'s decode-only tokens/s (prefill left out), paired. */
    public static Interval decodeRatio(List<RunResult> a, List<RunResult> b) {
        return ratio(a, b, RunResult::decodeTokensPerSecond);
    }

    private static Interval ratio(
            List<RunResult> a,
            List<RunResult> b,
            java.util.function.ToDoubleFunction<RunResult> rate) {
        int n = Math.min(a.size(), b.size());
        double[] logs = new double[n];
        for (int r = 0; r < n; r++) {
            logs[r] = Math.log(rate.applyAsDouble(a.get(r)) / rate.applyAsDouble(b.get(r)));
        }
        double mean = 0;
        for (double x : logs) {
            mean += x;
        }
        mean /= n;
        if (n < 2) {
            return new Interval(Math.exp(mean), Double.NaN, Double.NaN);
        }
        double var = 0;
        for (double x : logs) {
            var += (x - mean) * (x - mean);
        }
        double half = t975(n - 1) * Math.sqrt(var / (n - 1) / n);
        return new Interval(Math.exp(mean), Math.exp(mean - half), Math.exp(mean + half));
    }

    /**
     * Relative gain of {@code a}'s verification success rate over {@code b}'s ({@code 0.05} = 5 %
     * higher), with a percentile interval from a paired bootstrap over the workload's requests.
     */
    public static Interval successRateGain(RunResult a, RunResult b, int resamples, long seed) {
        long[] va = a.verifiedByRequest();
        long[] aa = a.acceptedByRequest();
        long[] vb = b.verifiedByRequest();
        long[] ab = b.acceptedByRequest();
        int n = va.length;
        double estimate = gain(va, aa, vb, ab, null);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] gains = new double[resamples];
        int[] pick = new int[n];
        for (int s = 0; s < resamples; s++) {
            for (int i = 0; i < n; i++) {
                pick[i] = rng.nextInt(n);
            }
            gains[s] = gain(va, aa, vb, ab, pick);
        }
        java.util.Arrays.sort(gains);
        return new Interval(
                estimate,
                gains[(int) Math.floor(0.025 * (resamples - 1))],
                gains[(int) Math.ceil(0.975 * (resamples - 1))]);
    }

    private static double gain(long[] va, long[] aa, long[] vb, long[] ab, int[] pick) {
        double sva = 0;
        double saa = 0;
        double svb = 0;
        double sab = 0;
        int n = va.length;
        for (int k = 0; k < n; k++) {
            int i = pick == null ? k : pick[k];
            sva += va[i];
            saa += aa[i];
            svb += vb[i];
            sab += ab[i];
        }
        if (sva == 0 || svb == 0 || sab == 0) {
            return Double.NaN;
        }
        return (saa / sva) / (sab / svb) - 1;
    }

    static double t975(int degrees) {
        return degrees < T_975.length ? T_975[degrees] : 1.96 + 2.4 / degrees;
    }
}
