package io.tetris.policy;

import java.util.List;
import java.util.Objects;

/**
 * Fits the coefficients of a {@link LinearStepCostModel} to measured step times.
 *
 * <p>Each kind of step (a draft step, a verification pass) is fitted on its own: seconds regressed
 * on the features {@code [1, B * tokens, B * context]}, i.e. a fixed cost, a cost per new token and
 * a cost per context token read. Coefficients are kept non-negative: a feature whose coefficient
 * comes out negative is dropped and the rest refitted (a negative fixed cost becomes 0, a fit
 * through the origin). With three features this is done exactly, by fitting every subset of them
 * and keeping the best fit whose coefficients are all non-negative, which is the non-negative least
 * squares optimum.
 */
public final class StepCostFit {

    /**
     * Smallest determinant of the features' Gram matrix (columns scaled to unit root mean square,
     * so the determinant lies in [0, 1]) that still counts as three independent features.
     */
    private static final double DEGENERATE_DETERMINANT = 1e-10;

    /**
     * Smallest verification fixed cost {@link #model} puts in when a fit gives verification no
     * fixed and no per-token cost, which {@link LinearStepCostModel} would reject.
     */
    static final double MIN_VERIFY_FIXED_SECONDS = 1e-9;

    private static final String[] FEATURES = {"1", "B*tokens", "B*context"};

    private StepCostFit() {}

    /**
     * One measured point.
     *
     * @param batchSize sequences in the step
     * @param tokensPerSequence new tokens each sequence brings (1 for a draft step)
     * @param contextLength tokens already cached per sequence
     * @param seconds the measured wall time of the step
     */
    public record Sample(
            int batchSize, double tokensPerSequence, double contextLength, double seconds) {

        public Sample {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            }
            requireNonNegative("tokens per sequence", tokensPerSequence);
            requireNonNegative("context length", contextLength);
            requireNonNegative("seconds", seconds);
        }

        /** The per-token feature, {@code B * tokens}. */
        public double tokenWork() {
            return batchSize * tokensPerSequence;
        }

        /** The per-context-token feature, {@code B * context}. */
        public double contextWork() {
            return batchSize * contextLength;
        }
    }

    /**
     * A fitted step time {@code fixed + B * (tokens * perToken + context * perContextToken)}.
     *
     * @param fixed seconds per step
     * @param perToken seconds per new token
     * @param perContextToken seconds per context token read
     * @param rSquared coefficient of determination of the fit on its samples (1 is exact)
     * @param samples how many samples it was fitted on
     */
    public record Linear(
            double fixed, double perToken, double perContextToken, double rSquared, int samples) {

        public Linear {
            requireNonNegative("fixed cost", fixed);
            requireNonNegative("per-token cost", perToken);
            requireNonNegative("per-context-token cost", perContextToken);
            if (Double.isNaN(rSquared) || Double.isInfinite(rSquared)) {
                throw new IllegalArgumentException("R squared must be finite, got " + rSquared);
            }
            if (samples < 0) {
                throw new IllegalArgumentException("sample count must be >= 0, got " + samples);
            }
        }

        /** The fitted seconds for a step of {@code batchSize} sequences. */
        public double predict(int batchSize, double tokensPerSequence, double contextLength) {
            return fixed
                    + batchSize * (tokensPerSequence * perToken + contextLength * perContextToken);
        }
    }

    /**
     * Least squares of seconds on {@code [1, B * tokens, B * context]} with non-negative
     * coefficients.
     *
     * @throws IllegalArgumentException for fewer than 3 samples, or samples whose features do not
     *     vary independently (e.g. all the same point, or a single context length with one token
     *     per sequence)
     */
    public static Linear fit(List<Sample> samples) {
        return fit(samples, false);
    }

    /**
     * Like {@link #fit(List)} but minimising relative rather than absolute error, so a round of one
     * sequence is fitted as closely as a round of sixty-four: what a planner comparing alternatives
     * at one batch size needs. {@link Linear#rSquared()} stays the ordinary one.
     */
    public static Linear fitRelative(List<Sample> samples) {
        return fit(samples, true);
    }

    private static Linear fit(List<Sample> samples, boolean relative) {
        Objects.requireNonNull(samples, "samples");
        int n = samples.size();
        if (n < 3) {
            throw new IllegalArgumentException(
                    "need at least 3 samples to fit a fixed, a per-token and a per-context-token"
                            + " cost, got "
                            + n);
        }
        double[][] x = new double[n][];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            Sample s = Objects.requireNonNull(samples.get(i), "sample");
            x[i] = new double[] {1, s.tokenWork(), s.contextWork()};
            y[i] = s.seconds();
        }
        // Scale each feature to unit root mean square so the normal equations are well scaled
        // (the constant and B * context differ by four orders of magnitude).
        double[] scale = new double[3];
        for (int j = 0; j < 3; j++) {
            double sum = 0;
            for (double[] row : x) {
                sum += row[j] * row[j];
            }
            scale[j] = Math.sqrt(sum / n);
        }
        double[] weight = new double[n]; // [sample] squared weight of each residual
        for (int i = 0; i < n; i++) {
            weight[i] = relative && y[i] > 0 ? 1 / (y[i] * y[i]) : 1;
        }
        double weightMean = java.util.Arrays.stream(weight).sum() / n;
        for (int i = 0; i < n; i++) {
            weight[i] /= weightMean;
        }
        double[][] gram = new double[3][3];
        double[] moment = new double[3];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 3; j++) {
                double zj = scale[j] == 0 ? 0 : x[i][j] / scale[j];
                moment[j] += weight[i] * zj * y[i] / n;
                for (int k = 0; k < 3; k++) {
                    double zk = scale[k] == 0 ? 0 : x[i][k] / scale[k];
                    gram[j][k] += weight[i] * zj * zk / n;
                }
            }
        }
        if (!(determinant3(gram) > DEGENERATE_DETERMINANT)) {
            throw new IllegalArgumentException(degenerateMessage(samples, x));
        }

        double[] best = null;
        double bestSse = Double.POSITIVE_INFINITY;
        // Every non-empty subset of the three features, the full one first so it wins ties.
        for (int mask = 7; mask >= 1; mask--) {
            double[] gamma = solveSubset(gram, moment, mask);
            if (gamma == null) {
                continue;
            }
            double[] beta = new double[3];
            boolean feasible = true;
            for (int j = 0; j < 3; j++) {
                beta[j] = scale[j] == 0 ? 0 : gamma[j] / scale[j];
                if (beta[j] < 0) {
                    feasible = false;
                }
            }
            if (!feasible) {
                continue;
            }
            double sse = sse(x, y, beta, weight);
            if (sse < bestSse) {
                bestSse = sse;
                best = beta;
            }
        }
        if (best == null) {
            // Unreachable for non-negative seconds: a single feature's coefficient is >= 0.
            throw new IllegalStateException("no non-negative fit found");
        }
        double mean = 0;
        for (double v : y) {
            mean += v / n;
        }
        double sst = 0;
        for (double v : y) {
            sst += (v - mean) * (v - mean);
        }
        double plainSse = sse(x, y, best, null);
        double rSquared = sst > 0 ? 1 - plainSse / sst : (plainSse == 0 ? 1 : 0);
        return new Linear(best[0], best[1], best[2], rSquared, n);
    }

    /**
     * A step cost model from a draft-step fit (one token per sequence, so its per-token cost is the
     * draft cost per sequence) and a verification fit. A verification fit with neither a fixed nor
     * a per-token cost gets a fixed cost of one nanosecond, so the model is always valid.
     */
    public static LinearStepCostModel model(Linear draft, Linear verify) {
        Objects.requireNonNull(draft, "draft");
        Objects.requireNonNull(verify, "verify");
        double verifyFixed = verify.fixed();
        if (!(verifyFixed + verify.perToken() > 0)) {
            verifyFixed = MIN_VERIFY_FIXED_SECONDS;
        }
        return new LinearStepCostModel(
                draft.fixed(),
                draft.perToken(),
                draft.perContextToken(),
                verifyFixed,
                verify.perToken(),
                verify.perContextToken());
    }

    /** Solves the normal equations restricted to the features in {@code mask}; null if singular. */
    private static double[] solveSubset(double[][] gram, double[] moment, int mask) {
        int[] index = new int[3];
        int k = 0;
        for (int j = 0; j < 3; j++) {
            if ((mask & (1 << j)) != 0) {
                index[k++] = j;
            }
        }
        double[][] a = new double[k][k + 1];
        for (int r = 0; r < k; r++) {
            for (int c = 0; c < k; c++) {
                a[r][c] = gram[index[r]][index[c]];
            }
            a[r][k] = moment[index[r]];
        }
        double[] solution = solve(a);
        if (solution == null) {
            return null;
        }
        double[] gamma = new double[3];
        for (int r = 0; r < k; r++) {
            gamma[index[r]] = solution[r];
        }
        return gamma;
    }

    /** Gaussian elimination with partial pivoting on an augmented {@code [k][k + 1]} matrix. */
    private static double[] solve(double[][] a) {
        int k = a.length;
        for (int col = 0; col < k; col++) {
            int pivot = col;
            for (int r = col + 1; r < k; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            if (Math.abs(a[pivot][col]) < 1e-14) {
                return null;
            }
            double[] swap = a[col];
            a[col] = a[pivot];
            a[pivot] = swap;
            for (int r = col + 1; r < k; r++) {
                double f = a[r][col] / a[col][col];
                for (int c = col; c <= k; c++) {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
        double[] solution = new double[k];
        for (int r = k - 1; r >= 0; r--) {
            double v = a[r][k];
            for (int c = r + 1; c < k; c++) {
                v -= a[r][c] * solution[c];
            }
            solution[r] = v / a[r][r];
        }
        return solution;
    }

    private static double determinant3(double[][] m) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    }

    /** Residual sum of squares, each residual weighted when {@code weight} is given. */
    private static double sse(double[][] x, double[] y, double[] beta, double[] weight) {
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            double r = y[i] - (beta[0] * x[i][0] + beta[1] * x[i][1] + beta[2] * x[i][2]);
            sum += (weight == null ? 1 : weight[i]) * r * r;
        }
        return sum;
    }

    private static String degenerateMessage(List<Sample> samples, double[][] x) {
        for (int j = 1; j < 3; j++) {
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (double[] row : x) {
                min = Math.min(min, row[j]);
                max = Math.max(max, row[j]);
            }
            if (max - min <= 1e-12 * Math.max(1, Math.abs(max))) {
                return "degenerate samples: "
                        + FEATURES[j]
                        + " is "
                        + max
                        + " in all "
                        + samples.size()
                        + " samples, so its cost cannot be told apart from the fixed cost;"
                        + " vary the batch size, tokens per sequence and context length";
            }
        }
        return "degenerate samples: the features [1, B*tokens, B*context] are linearly dependent"
                + " over the "
                + samples.size()
                + " samples (e.g. a single context length with one token per sequence);"
                + " vary the batch size and the context length independently";
    }

    private static void requireNonNegative(String what, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(what + " must be finite and >= 0, got " + value);
        }
    }
}
