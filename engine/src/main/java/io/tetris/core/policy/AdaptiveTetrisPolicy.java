package io.tetris.core.policy;

import io.tetris.core.Tetris;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * TETRIS planned against learned costs and learned acceptance: it speculates only as far as it pays
 * on this machine, for each request as far as that request's drafts are worth verifying, and not at
 * all when plain decoding is faster.
 *
 * <ul>
 *   <li><b>Acceptance.</b> An {@link AcceptancePredictor} estimates each drafted token's chance of
 *       being accepted from several features, the request's own recent acceptance among them.
 *   <li><b>Cost.</b> An {@link OnlineCostModel} learns the loop's own round times (draft steps and
 *       verification passes, over batch and tokens per sequence) on top of a prior.
 *   <li><b>Draft length, per request.</b> Before drafting, each request's survival (the chance its
 *       first {@code j} drafts are all accepted) is planned from its own rate; a request drafts
 *       while its survival stays above {@value #MIN_SURVIVAL}, up to a round-wide number of steps
 *       {@code S} that maximises expected tokens per predicted second, {@code S = 0} (no
 *       speculation) included.
 *   <li><b>Verification.</b> The TETRIS order over the estimates ranks every drafted token once;
 *       the policy verifies the prefix that maximises expected tokens per predicted round time,
 *       none included, and, because our runner pads a batch to its longest row, also tries capping
 *       every row at each length so one confident outlier cannot stretch the whole batch.
 *   <li><b>Exploration.</b> While speculation is off, every {@value #PROBE_INTERVAL}th round drafts
 *       and verifies {@value #PROBE_LENGTH} tokens per request, so acceptance and costs that change
 *       (an easier mix of requests, a faster device) can turn it back on. On the bundled pair on a
 *       2-core CPU a probe costs about 1.5 % of the throughput.
 * </ul>
 *
 * Verification is lossless whatever is chosen; only speed depends on these estimates.
 */
final class AdaptiveTetrisPolicy implements BudgetPolicy {

    static final double MIN_SURVIVAL = 0.05;
    static final int PROBE_INTERVAL = 32;
    static final int PROBE_LENGTH = 2;

    private final int maxDraft;
    private final OnlineCostModel costModel;
    private final AcceptancePredictor predictor;
    private final CostScore costScore = new CostScore();

    private int roundsOff;
    private boolean probing;
    private AcceptancePredictor.Prediction last;
    private double lastPredicted = Double.NaN;

    /**
     * @param maxDraft most tokens drafted per request and round
     * @param prior the cost model's shape before it has measured anything
     */
    AdaptiveTetrisPolicy(int maxDraft, StepCostModel prior, AcceptancePredictor predictor) {
        if (maxDraft < 1) {
            throw new IllegalArgumentException(
                    "tetris-adaptive needs max draft >= 1, got " + maxDraft);
        }
        this.maxDraft = maxDraft;
        this.costModel = new OnlineCostModel(Objects.requireNonNull(prior, "prior"));
        this.predictor = Objects.requireNonNull(predictor, "predictor");
    }

    @Override
    public String name() {
        return "tetris-adaptive";
    }

    @Override
    public int draftLength(RoundShape shape) {
        int n = Math.max(1, shape.batchSize());
        String[] ids = new String[n];
        Arrays.fill(ids, "");
        return Arrays.stream(draftLengths(ids, new int[n], shape)).max().orElse(0);
    }

    @Override
    public int[] draftLengths(String[] ids, int[] groups, RoundShape shape) {
        int n = ids.length;
        if (n == 0) {
            return new int[0];
        }
        double ctx = shape.meanContextLength();
        double[][] survival = new double[n][maxDraft]; // [batch][position]
        for (int i = 0; i < n; i++) {
            double s = 1;
            for (int j = 0; j < maxDraft; j++) {
                s *= predictor.planningRate(ids[i], groups[i], j);
                survival[i][j] = s;
            }
        }
        int best = 0;
        double bestGoodput = n / costModel.verifySeconds(n, 0, 0, ctx);
        int[] bestLengths = new int[n];
        for (int steps = 1; steps <= maxDraft; steps++) {
            int[] lengths = lengths(survival, steps);
            double expected = n;
            int total = 0;
            int longest = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < lengths[i]; j++) {
                    expected += survival[i][j];
                }
                total += lengths[i];
                longest = Math.max(longest, lengths[i]);
            }
            double seconds =
                    longest * costModel.draftStepSeconds(n, ctx)
                            + costModel.verifySeconds(n, total, longest, ctx);
            double goodput = expected / seconds;
            if (longest > 0 && goodput > bestGoodput) {
                best = steps;
                bestGoodput = goodput;
                bestLengths = lengths;
            }
        }
        probing = false;
        if (best > 0) {
            roundsOff = 0;
            return bestLengths;
        }
        if (++roundsOff >= PROBE_INTERVAL) {
            roundsOff = 0;
            probing = true;
            int[] probe = new int[n];
            Arrays.fill(probe, Math.min(PROBE_LENGTH, maxDraft));
            return probe;
        }
        return bestLengths;
    }

    /** {@code [batch]} drafts per request: up to {@code steps}, while survival holds. */
    private static int[] lengths(double[][] survival, int steps) {
        int[] lengths = new int[survival.length];
        for (int i = 0; i < survival.length; i++) {
            int l = 0;
            while (l < steps && survival[i][l] >= MIN_SURVIVAL) {
                l++;
            }
            lengths[i] = l;
        }
        return lengths;
    }

    @Override
    public Allocation allocate(double[][] draftLogProbs, double[] weights, RoundShape shape) {
        return allocate(
                Candidates.of(draftLogProbs, weights, new int[draftLogProbs.length]), shape);
    }

    @Override
    public Allocation allocate(
            double[][] draftLogProbs, double[] weights, int[] groups, RoundShape shape) {
        return allocate(Candidates.of(draftLogProbs, weights, groups), shape);
    }

    @Override
    public Allocation allocate(Candidates c, RoundShape shape) {
        int n = c.size();
        last = predictor.predict(c);
        double[][] estimates = last.estimates();
        int steps = 0;
        int drafted = 0;
        for (double[] row : c.logProbs()) {
            steps = Math.max(steps, row.length);
            drafted += row.length;
        }
        double ctx = shape.meanContextLength();
        double draftSeconds = steps * costModel.draftStepSeconds(n, ctx);
        int[] verify;
        if (probing) {
            verify = new int[n];
            for (int i = 0; i < n; i++) {
                verify[i] = c.logProbs()[i].length;
            }
        } else {
            verify = bestPlan(estimates, c.weights(), ctx);
        }
        int total = 0;
        int longest = 0;
        for (int v : verify) {
            total += v;
            longest = Math.max(longest, v);
        }
        lastPredicted = draftSeconds + costModel.verifySeconds(n, total, longest, ctx);
        return new Allocation(verify, drafted, lastPredicted);
    }

    /** Searches row caps and budgets for the best expected goodput; returns {@code [batch]}. */
    private int[] bestPlan(double[][] estimates, double[] weights, double ctx) {
        int n = estimates.length;
        double[][] logEstimates = TetrisPolicy.logs(estimates);
        int longest = 0;
        for (double[] row : estimates) {
            longest = Math.max(longest, row.length);
        }
        int[] bestOrder = null;
        int bestBudget = 0;
        // Drafting is paid for already: only verification time is at stake here.
        double bestGoodput = n / costModel.verifySeconds(n, 0, 0, ctx);
        for (int cap = 1; cap <= longest; cap++) {
            int[] order = Tetris.order(capped(logEstimates, cap), weights);
            int[] length = new int[n];
            double[] survival = new double[n];
            Arrays.fill(survival, 1);
            double expected = n;
            int rowMax = 0;
            for (int c = 0; c < order.length; c++) {
                int i = order[c];
                survival[i] *= estimates[i][length[i]];
                length[i]++;
                rowMax = Math.max(rowMax, length[i]);
                expected += survival[i];
                double goodput = expected / costModel.verifySeconds(n, c + 1, rowMax, ctx);
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
            out[i] = rows[i].length <= cap ? rows[i] : Arrays.copyOf(rows[i], cap);
        }
        return out;
    }

    @Override
    public void observe(int[] verified, int[] accepted) {
        if (last != null) {
            predictor.observe(last, verified, accepted);
            last = null;
        }
    }

    @Override
    public void observeCost(RoundCost cost) {
        costScore.add(lastPredicted, cost.seconds());
        costModel.observe(cost);
        lastPredicted = Double.NaN;
    }

    @Override
    public Optional<CalibrationReport> calibration() {
        return Optional.of(predictor.report());
    }

    @Override
    public Optional<CostReport> costReport() {
        return Optional.of(costScore.report());
    }
}
