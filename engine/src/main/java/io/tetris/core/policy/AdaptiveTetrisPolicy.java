package io.tetris.core.policy;

import io.tetris.core.Tetris;
import java.util.Objects;
import java.util.Optional;

/**
 * TETRIS with a cost-model budget and calibrated acceptance (what vLLM's adaptive verification adds
 * to the paper's algorithm).
 *
 * <ul>
 *   <li><b>Draft length.</b> Each round plans how far to draft like dsd, maximising expected tokens
 *       per predicted round time, but with the observed acceptance of each draft position instead
 *       of one global rate, and up to {@code extra} beyond dsd's largest window. Extra draft steps
 *       are not free (on this machine a draft step costs a fifth of a verification pass), so the
 *       plan pays for them like any other.
 *   <li><b>Estimates.</b> Each drafted token's acceptance probability is the {@link
 *       AcceptanceCalibrator}'s estimate from its draft probability, position and group, not the
 *       raw draft probability.
 *   <li><b>Budget.</b> The budget reported is every drafted token; the TETRIS order ranks every
 *       drafted token once; walking it gives the expected accepted tokens of every budget {@code
 *       C}. The policy verifies the prefix that maximises (expected accepted + one token per
 *       sequence) / predicted round time. Because our runner pads a batch to its longest row, it
 *       also tries capping every row at {@code L} tokens for each {@code L}, so one confident
 *       outlier cannot make the whole batch pay for a long row; a variable-length cost model makes
 *       the cap irrelevant.
 * </ul>
 *
 * Verification is lossless whatever is chosen; only speed depends on these estimates.
 */
final class AdaptiveTetrisPolicy implements BudgetPolicy {

    private static final double MIN_ESTIMATE = 1e-6;
    private static final double MAX_ESTIMATE = 1 - 1e-9;

    private final int maxWindow;
    private final int extra;
    private final StepCostModel costModel;
    private final double initialAcceptance;
    private final AcceptanceCalibrator calibrator;
    private final CalibrationError rawError = new CalibrationError();
    private final CalibrationError calibratedError = new CalibrationError();

    private int draftLength;
    private double[][] lastLogProbs; // [batch][drafted_i] of the round being verified
    private double[][] lastEstimates; // [batch][drafted_i]
    private int[] lastGroups; // [batch]

    AdaptiveTetrisPolicy(
            int maxWindow,
            int extra,
            StepCostModel costModel,
            double initialAcceptance,
            AcceptanceCalibrator calibrator) {
        if (maxWindow < 1 || extra < 0 || !(initialAcceptance >= 0 && initialAcceptance <= 1)) {
            throw new IllegalArgumentException(
                    "tetris-adaptive needs max window >= 1, extra >= 0 and initial acceptance in"
                            + " [0, 1], got "
                            + maxWindow
                            + ", "
                            + extra
                            + ", "
                            + initialAcceptance);
        }
        this.maxWindow = maxWindow;
        this.extra = extra;
        this.costModel = Objects.requireNonNull(costModel, "costModel");
        this.initialAcceptance = initialAcceptance;
        this.calibrator = Objects.requireNonNull(calibrator, "calibrator");
    }

    @Override
    public String name() {
        return "tetris-adaptive";
    }

    @Override
    public int draftLength(RoundShape shape) {
        draftLength = plannedDraft(shape);
        return draftLength;
    }

    /**
     * The draft length with the best predicted goodput if every drafted token were verified, under
     * per-position acceptance: dsd's plan with per-position rates, over windows up to the maximum
     * plus {@code extra}. Selection can only improve on it, by not verifying tokens whose estimated
     * value is below their cost.
     */
    int plannedDraft(RoundShape shape) {
        int b = Math.max(1, shape.batchSize());
        double ctx = shape.meanContextLength();
        int best = 0;
        double bestGoodput = b / costModel.verifySeconds(b, 0, 0, ctx);
        double survival = 1;
        double expected = b; // one emitted token per sequence
        for (int d = 1; d <= maxWindow + extra; d++) {
            survival *= calibrator.positionRate(d - 1, initialAcceptance);
            expected += b * survival;
            double seconds =
                    d * costModel.draftStepSeconds(b, ctx)
                            + costModel.verifySeconds(b, b * d, d, ctx);
            double goodput = expected / seconds;
            if (goodput > bestGoodput) {
                best = d;
                bestGoodput = goodput;
            }
        }
        return best;
    }

    @Override
    public Allocation allocate(double[][] draftLogProbs, double[] weights, RoundShape shape) {
        return allocate(draftLogProbs, weights, new int[draftLogProbs.length], shape);
    }

    @Override
    public Allocation allocate(
            double[][] draftLogProbs, double[] weights, int[] groups, RoundShape shape) {
        int n = draftLogProbs.length;
        double[][] estimates = new double[n][]; // [batch][drafted_i]
        double[][] logEstimates = new double[n][]; // [batch][drafted_i]
        int longest = 0;
        for (int i = 0; i < n; i++) {
            int drafted = draftLogProbs[i].length;
            longest = Math.max(longest, drafted);
            estimates[i] = new double[drafted];
            logEstimates[i] = new double[drafted];
            for (int j = 0; j < drafted; j++) {
                double e = calibrator.estimate(groups[i], j, draftLogProbs[i][j]);
                e = Math.max(MIN_ESTIMATE, Math.min(MAX_ESTIMATE, e));
                estimates[i][j] = e;
                logEstimates[i][j] = Math.log(e);
            }
        }
        lastLogProbs = draftLogProbs;
        lastEstimates = estimates;
        lastGroups = groups.clone();
        int[] verify = bestPlan(estimates, logEstimates, weights, shape, longest);
        return new Allocation(verify, draftLength * n);
    }

    /** Searches row caps and budgets for the best expected goodput; returns {@code [batch]}. */
    private int[] bestPlan(
            double[][] estimates,
            double[][] logEstimates,
            double[] weights,
            RoundShape shape,
            int longest) {
        int n = estimates.length;
        double ctx = shape.meanContextLength();
        double draftSeconds = draftLength * costModel.draftStepSeconds(n, ctx);
        int[] bestOrder = null;
        int bestBudget = 0;
        double bestGoodput = n / (draftSeconds + costModel.verifySeconds(n, 0, 0, ctx));
        for (int cap = 1; cap <= longest; cap++) {
            int[] order = Tetris.order(capped(logEstimates, cap), weights);
            int[] length = new int[n];
            double[] survival = new double[n];
            java.util.Arrays.fill(survival, 1);
            double expected = n;
            int rowMax = 0;
            for (int c = 0; c < order.length; c++) {
                int i = order[c];
                survival[i] *= estimates[i][length[i]];
                length[i]++;
                rowMax = Math.max(rowMax, length[i]);
                expected += survival[i];
                double seconds = draftSeconds + costModel.verifySeconds(n, c + 1, rowMax, ctx);
                double goodput = expected / seconds;
                if (goodput > bestGoodput) {
                    bestGoodput = goodput;
                    bestOrder = order;
                    bestBudget = c + 1;
                }
            }
        }
        int[] verify = new int[n];
        for (int c = 0; c < bestBudget; c++) {
            verify[bestOrder[c]]++;
        }
        return verify;
    }

    private static double[][] capped(double[][] rows, int cap) {
        double[][] out = new double[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i].length <= cap ? rows[i] : java.util.Arrays.copyOf(rows[i], cap);
        }
        return out;
    }

    @Override
    public void observe(int[] verified, int[] accepted) {
        if (lastEstimates == null) {
            return;
        }
        for (int i = 0; i < verified.length; i++) {
            // Tokens after the first rejection say nothing about conditional acceptance.
            int scored = Math.min(verified[i], accepted[i] + 1);
            for (int j = 0; j < scored; j++) {
                boolean ok = j < accepted[i];
                double logProb = lastLogProbs[i][j];
                rawError.add(Math.min(1, Math.exp(logProb)), ok);
                calibratedError.add(lastEstimates[i][j], ok);
                calibrator.observe(lastGroups[i], j, logProb, ok);
            }
        }
        lastEstimates = null;
    }

    @Override
    public Optional<CalibrationReport> calibration() {
        return Optional.of(
                new CalibrationReport(
                        rawError.count(),
                        rawError.expectedError(),
                        calibratedError.expectedError(),
                        rawError.brierScore(),
                        calibratedError.brierScore()));
    }
}
