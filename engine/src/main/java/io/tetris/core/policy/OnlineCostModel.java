package io.tetris.core.policy;

import java.util.Arrays;
import java.util.Objects;

/**
 * A step-cost model learned from the loop's own timed rounds, shaped like the real cost.
 *
 * <p>A table over running batch (power-of-two buckets) and tokens per sequence of a pass (one cell
 * per count) holds, per cell, the median log-ratio of measured to prior-predicted time over the
 * cell's last {@value #WINDOW} rounds. A prediction is the prior's (which carries the dependence on
 * context) times that ratio. Why a table and not a fit: real step times are neither linear nor
 * smooth (a GPU's tile quantisation makes them a staircase in tokens, a CPU's caches make them
 * bend), and a median per cell shrugs off the outliers of a shared machine. A cell never measured
 * borrows the ratio of the nearest measured cell, preferring the one above (a step up is then
 * predicted, never missed), and predictions are made non-decreasing in tokens per sequence.
 */
public final class OnlineCostModel implements StepCostModel {

    private static final int WINDOW = 15;
    private static final int BATCH_BUCKETS = 12; // 1, 2, 4, ..., 2048
    private static final int TOKEN_CELLS = 16; // 1..15, 16 and more

    private final StepCostModel prior;
    private final Cell[] draft = new Cell[BATCH_BUCKETS];
    private final Cell[][] verify = new Cell[BATCH_BUCKETS][TOKEN_CELLS];

    /**
     * @param prior the shape before and between measurements (a profile, or the defaults)
     */
    public OnlineCostModel(StepCostModel prior) {
        this.prior = Objects.requireNonNull(prior, "prior");
        for (int b = 0; b < BATCH_BUCKETS; b++) {
            draft[b] = new Cell();
            for (int t = 0; t < TOKEN_CELLS; t++) {
                verify[b][t] = new Cell();
            }
        }
    }

    /** Learns from one measured round. */
    public void observe(RoundCost round) {
        if (round.batchSize() < 1) {
            return;
        }
        int b = bucket(round.batchSize());
        double ctx = round.meanContextLength();
        if (round.draftSteps() > 0 && round.draftSeconds() > 0) {
            double perStep = round.draftSeconds() / round.draftSteps();
            draft[b].add(Math.log(perStep / prior.draftStepSeconds(round.batchSize(), ctx)));
        }
        if (round.verifySeconds() > 0 && round.verifyTokensPerSequence() > 0) {
            int t = cell(round.verifyTokensPerSequence());
            double predicted =
                    prior.verifySeconds(
                            round.batchSize(),
                            round.verifiedTokens(),
                            round.verifyTokensPerSequence() - 1,
                            ctx);
            verify[b][t].add(Math.log(round.verifySeconds() / predicted));
        }
    }

    @Override
    public double draftStepSeconds(int batchSize, double meanContextLength) {
        int b = bucket(batchSize);
        double ratio = Double.NaN;
        for (int d = 0; d < BATCH_BUCKETS && Double.isNaN(ratio); d++) {
            ratio = firstKnown(draft, b + d, b - d);
        }
        return prior.draftStepSeconds(batchSize, meanContextLength)
                * (Double.isNaN(ratio) ? 1 : Math.exp(ratio));
    }

    @Override
    public double verifySeconds(int batchSize, double tokensPerSequence, double meanContextLength) {
        int longest = (int) Math.ceil(tokensPerSequence) - 1;
        return verifySeconds(batchSize, batchSize * longest, longest, meanContextLength);
    }

    @Override
    public double verifySeconds(
            int batchSize, int totalDraftTokens, int longestRow, double meanContextLength) {
        int b = bucket(batchSize);
        int last = cell(longestRow + 1);
        double best = 0;
        // Non-decreasing in tokens: no pass predicts less than one with shorter rows.
        for (int t = 0; t <= last; t++) {
            int longest = t == last ? longestRow : t;
            int total = Math.min(totalDraftTokens, batchSize * longest);
            best = Math.max(best, cellSeconds(b, t, batchSize, total, longest, meanContextLength));
        }
        return best;
    }

    /**
     * A pass in token cell {@code t}: its own ratio on the prior, else that of the nearest measured
     * cell (same batch bucket first). A cell borrowed from above is predicted at that cell's token
     * count, so between two measurements the prediction is the step above, never a slope under it.
     */
    private double cellSeconds(
            int b, int t, int batchSize, int total, int longest, double meanContextLength) {
        for (int d = 0; d < BATCH_BUCKETS; d++) {
            for (int bb : new int[] {b + d, b - d}) {
                if (bb < 0 || bb >= BATCH_BUCKETS) {
                    continue;
                }
                for (int e = 0; e < TOKEN_CELLS; e++) {
                    for (int tt : new int[] {t + e, t - e}) {
                        if (tt < 0 || tt >= TOKEN_CELLS || verify[bb][tt].count == 0) {
                            continue;
                        }
                        int rows = Math.max(longest, tt);
                        int tokens =
                                Math.min(batchSize * rows, total + batchSize * (rows - longest));
                        return prior.verifySeconds(batchSize, tokens, rows, meanContextLength)
                                * Math.exp(verify[bb][tt].median());
                    }
                }
            }
        }
        return prior.verifySeconds(batchSize, total, longest, meanContextLength);
    }

    /** The first measured of {@code cells[up]}, {@code cells[down]}, NaN if neither. */
    private static double firstKnown(Cell[] cells, int up, int down) {
        if (up >= 0 && up < cells.length && cells[up].count > 0) {
            return cells[up].median();
        }
        if (down >= 0 && down < cells.length && cells[down].count > 0) {
            return cells[down].median();
        }
        return Double.NaN;
    }

    private static int bucket(int batchSize) {
        int b = 32 - Integer.numberOfLeadingZeros(Math.max(1, batchSize) - 1); // ceil(log2)
        return Math.min(BATCH_BUCKETS - 1, b);
    }

    private static int cell(int tokensPerSequence) {
        return Math.max(0, Math.min(TOKEN_CELLS - 1, tokensPerSequence - 1));
    }

    /** The last {@link #WINDOW} log-ratios of one cell. */
    private static final class Cell {
        private final double[] values = new double[WINDOW];
        private int count;
        private int next;
        private double median = Double.NaN;

        void add(double logRatio) {
            if (!Double.isFinite(logRatio)) {
                return;
            }
            values[next] = logRatio;
            next = (next + 1) % WINDOW;
            count = Math.min(WINDOW, count + 1);
            double[] sorted = Arrays.copyOf(values, count);
            Arrays.sort(sorted);
            median =
                    count % 2 == 1
                            ? sorted[count / 2]
                            : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
        }

        double median() {
            return median;
        }
    }
}
