package io.tetris.policy;

import java.util.Arrays;
import java.util.Objects;

/**
 * A step-cost model learned from the loop's own timed rounds, shaped like the real cost.
 *
 * <p>A table over running batch (one cell per size up to {@value #EXACT_BATCHES}, power-of-two
 * buckets above) and mean new tokens per sequence of a pass (one cell per count, rounded) holds,
 * per cell, a low quantile ({@value #QUANTILE}) of the log-ratios of measured to prior-predicted
 * time over the cell's last {@value #WINDOW} rounds. A prediction is the prior's (which carries the
 * dependence on context) times that ratio. Why a table and not a fit: real step times are neither
 * linear nor smooth (a GPU's tile quantisation makes them a staircase in tokens, a CPU's caches
 * make them bend), and a low quantile per cell shrugs off the outliers of a shared machine. A cell
 * never measured borrows the ratio of the nearest measured cell, preferring the one above (a step
 * up is then predicted, never missed), and predictions are made non-decreasing in tokens per
 * sequence.
 */
public final class OnlineCostModel implements StepCostModel {

    private static final int WINDOW = 15;

    /**
     * Which quantile of a cell's recent ratios it predicts. Round times on a shared machine are
     * skewed upwards (interference only slows a round down), so the typical round sits below the
     * mean and the median: on the bundled pair on a 2-core machine the 30th percentile of past
     * rounds predicts the next one with a median error of 9.5 %, the median with 12.6 %.
     */
    private static final double QUANTILE = 0.3;

    private static final int EXACT_BATCHES = 128; // one cell per batch size up to this
    private static final int BATCH_BUCKETS = EXACT_BATCHES + 4; // then 256, 512, 1024, more
    private static final int TOKEN_CELLS = 16; // 1..15, 16 and more

    private final StepCostModel prior;
    private final Cell[][] draft = new Cell[BATCH_BUCKETS][TOKEN_CELLS]; // [batch][steps - 1]
    private final Cell[][] verify = new Cell[BATCH_BUCKETS][TOKEN_CELLS];
    private static final int MIN_OTHER = 3;

    private final Cell[][] other = new Cell[BATCH_BUCKETS][2]; // [batch][speculating]
    // The cells measured so far, as {batch bucket, token cell}: lookups search these, not the
    // table.
    private final java.util.List<int[]> measuredDraft = new java.util.ArrayList<>();
    private final java.util.List<int[]> measuredVerify = new java.util.ArrayList<>();
    // nearest() answers, valid until a new cell is measured: [batch][token cell]
    private final int[][][] nearestDraft = new int[BATCH_BUCKETS][TOKEN_CELLS][];
    private final int[][][] nearestVerify = new int[BATCH_BUCKETS][TOKEN_CELLS][];

    /**
     * @param prior the shape before and between measurements (a profile, or the defaults)
     */
    public OnlineCostModel(StepCostModel prior) {
        this.prior = Objects.requireNonNull(prior, "prior");
        for (int b = 0; b < BATCH_BUCKETS; b++) {
            // The median: time outside the passes is not skewed like a pass's.
            other[b][0] = new Cell(0.5);
            other[b][1] = new Cell(0.5);
            for (int t = 0; t < TOKEN_CELLS; t++) {
                draft[b][t] = new Cell(QUANTILE);
                verify[b][t] = new Cell(QUANTILE);
            }
        }
    }

    /** A copy that learns on from what this one has learned, independently of it. */
    public OnlineCostModel copy() {
        OnlineCostModel c = new OnlineCostModel(prior);
        LearnedState.read(LearnedState.write(this::write), c::read);
        return c;
    }

    /**
     * Writes the cells measured so far (for {@link BudgetPolicy#learned}); the prior is
     * configuration and not written.
     */
    void write(java.io.DataOutputStream out) throws java.io.IOException {
        writeCells(out, draft, measuredDraft);
        writeCells(out, verify, measuredVerify);
        java.util.List<int[]> measuredOther = new java.util.ArrayList<>();
        for (int b = 0; b < BATCH_BUCKETS; b++) {
            for (int on = 0; on < 2; on++) {
                if (other[b][on].count > 0) {
                    measuredOther.add(new int[] {b, on});
                }
            }
        }
        writeCells(out, other, measuredOther);
    }

    /** Reads what {@link #write} wrote into this model, replacing what it measured. */
    void read(java.io.DataInputStream in) throws java.io.IOException {
        measuredDraft.clear();
        measuredVerify.clear();
        for (int b = 0; b < BATCH_BUCKETS; b++) {
            for (int t = 0; t < TOKEN_CELLS; t++) {
                draft[b][t] = new Cell(QUANTILE);
                verify[b][t] = new Cell(QUANTILE);
            }
        }
        readCells(in, draft, measuredDraft, nearestDraft);
        readCells(in, verify, measuredVerify, nearestVerify);
        for (int b = 0; b < BATCH_BUCKETS; b++) {
            other[b][0] = new Cell(0.5);
            other[b][1] = new Cell(0.5);
        }
        readCells(in, other, new java.util.ArrayList<>(), new int[0][][]);
    }

    private static void writeCells(
            java.io.DataOutputStream out, Cell[][] cells, java.util.List<int[]> measured)
            throws java.io.IOException {
        out.writeInt(measured.size());
        for (int[] m : measured) {
            out.writeInt(m[0]);
            out.writeInt(m[1]);
            cells[m[0]][m[1]].write(out);
        }
    }

    private static void readCells(
            java.io.DataInputStream in,
            Cell[][] cells,
            java.util.List<int[]> measured,
            int[][][] answers)
            throws java.io.IOException {
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            int b = in.readInt();
            int t = in.readInt();
            if (b < 0 || b >= cells.length || t < 0 || t >= cells[b].length) {
                throw new java.io.IOException("cost cell (" + b + ", " + t + ") out of range");
            }
            cells[b][t].read(in);
            measured.add(new int[] {b, t});
        }
        for (int[][] row : answers) {
            Arrays.fill(row, null);
        }
    }

    /** Learns from one measured round. */
    public void observe(RoundCost round) {
        if (round.batchSize() < 1) {
            return;
        }
        int b = bucket(round.batchSize());
        double ctx = round.meanContextLength();
        if (round.otherSeconds() > 0) {
            other[b][round.draftSteps() > 0 ? 1 : 0].add(round.otherSeconds());
        }
        if (round.draftSteps() > 0 && round.draftSeconds() > 0) {
            // Per number of steps: the first step of a round also catches the draft's cache up
            // with the tokens accepted last round, so a round's steps do not cost alike.
            int rows = Math.max(1, round.draftRows());
            double predicted = round.draftSteps() * prior.draftStepSeconds(rows, ctx);
            add(
                    draft,
                    measuredDraft,
                    nearestDraft,
                    bucket(rows),
                    cell(round.draftSteps()),
                    Math.log(round.draftSeconds() / predicted));
        }
        if (round.verifySeconds() > 0 && round.verifyTokensPerSequence() > 0) {
            int longest = round.verifyTokensPerSequence() - 1;
            double predicted =
                    prior.verifySeconds(round.batchSize(), round.verifiedTokens(), longest, ctx);
            add(
                    verify,
                    measuredVerify,
                    nearestVerify,
                    b,
                    tokenCell(round.batchSize(), round.verifiedTokens()),
                    Math.log(round.verifySeconds() / predicted));
        }
    }

    /**
     * A round's time outside the two models, by whether it speculates: a speculating round also
     * prefills the draft model's caches and samples and checks drafts on the host. The median over
     * the cell's last rounds; until both kinds have {@value #MIN_OTHER} measurements at the nearest
     * batch measured, the same for both (it then favours neither).
     */
    public double otherSeconds(int batchSize, boolean speculating) {
        int b = bucket(batchSize);
        for (int d = 0; d < BATCH_BUCKETS; d++) {
            for (int bb : new int[] {b + d, b - d}) {
                if (bb < 0 || bb >= BATCH_BUCKETS) {
                    continue;
                }
                Cell off = other[bb][0];
                Cell on = other[bb][1];
                if (off.count >= MIN_OTHER && on.count >= MIN_OTHER) {
                    return (speculating ? on : off).typical();
                }
            }
        }
        return 0;
    }

    @Override
    public double draftStepSeconds(int batchSize, double meanContextLength) {
        return draftSeconds(batchSize, 1, meanContextLength);
    }

    @Override
    public double draftSeconds(int batchSize, int steps, double meanContextLength) {
        if (steps <= 0) {
            return 0;
        }
        int[] at = nearest(draft, measuredDraft, nearestDraft, bucket(batchSize), cell(steps));
        double ratio = at == null ? Double.NaN : draft[at[0]][at[1]].typical();
        return steps
                * prior.draftStepSeconds(batchSize, meanContextLength)
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
        int last = tokenCell(batchSize, totalDraftTokens);
        double best =
                cellSeconds(b, last, batchSize, totalDraftTokens, longestRow, meanContextLength);
        // Non-decreasing in tokens: no pass predicts less than one with fewer tokens per row.
        for (int t = 0; t < last; t++) {
            best =
                    Math.max(
                            best,
                            cellSeconds(b, t, batchSize, batchSize * t, t, meanContextLength));
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
        int[] at = nearest(verify, measuredVerify, nearestVerify, b, t);
        if (at == null) {
            return prior.verifySeconds(batchSize, total, longest, meanContextLength);
        }
        int tokens = Math.max(total, batchSize * at[1]);
        return prior.verifySeconds(batchSize, tokens, Math.max(longest, at[1]), meanContextLength)
                * Math.exp(verify[at[0]][at[1]].typical());
    }

    /** The token cell of a pass: its mean new tokens per sequence, rounded. */
    private static int tokenCell(int batchSize, int totalDraftTokens) {
        return cell(
                (int) Math.round(StepCostModel.meanTokensPerSequence(batchSize, totalDraftTokens)));
    }

    private static void add(
            Cell[][] cells,
            java.util.List<int[]> measured,
            int[][][] answers,
            int b,
            int t,
            double v) {
        if (!Double.isFinite(v)) {
            return;
        }
        if (cells[b][t].count == 0) {
            measured.add(new int[] {b, t});
            for (int[][] row : answers) {
                Arrays.fill(row, null);
            }
        }
        cells[b][t].add(v);
    }

    /**
     * {@code (b, t)} if measured, else the measured cell nearest in batch (the larger first), then
     * in tokens (the larger first); null before any measurement.
     */
    private static int[] nearest(
            Cell[][] cells, java.util.List<int[]> measured, int[][][] answers, int b, int t) {
        if (answers[b][t] != null) {
            return answers[b][t];
        }
        if (cells[b][t].count > 0) {
            answers[b][t] = new int[] {b, t};
            return answers[b][t];
        }
        int[] best = null;
        long bestKey = Long.MAX_VALUE;
        for (int[] m : measured) {
            long batchKey = 2L * Math.abs(m[0] - b) + (m[0] < b ? 1 : 0);
            long tokenKey = 2L * Math.abs(m[1] - t) + (m[1] < t ? 1 : 0);
            long key = batchKey * 1024 + tokenKey;
            if (key < bestKey) {
                bestKey = key;
                best = m;
            }
        }
        answers[b][t] = best;
        return best;
    }

    private static int bucket(int batchSize) {
        int b = Math.max(1, batchSize);
        if (b <= EXACT_BATCHES) {
            return b - 1;
        }
        int log = 32 - Integer.numberOfLeadingZeros(b - 1); // ceil(log2), 8 for 129..256
        return Math.min(BATCH_BUCKETS - 1, EXACT_BATCHES + log - 8);
    }

    private static int cell(int tokensPerSequence) {
        return Math.max(0, Math.min(TOKEN_CELLS - 1, tokensPerSequence - 1));
    }

    /** The last {@link #WINDOW} values of one cell and a quantile of them, kept up to date. */
    private static final class Cell {
        private final double quantile;
        private final double[] values = new double[WINDOW];
        private int count;
        private int next;
        private double typical = Double.NaN;

        Cell(double quantile) {
            this.quantile = quantile;
        }

        void add(double value) {
            if (!Double.isFinite(value)) {
                return;
            }
            values[next] = value;
            next = (next + 1) % WINDOW;
            count = Math.min(WINDOW, count + 1);
            double[] sorted = Arrays.copyOf(values, count);
            Arrays.sort(sorted);
            typical = sorted[(int) (quantile * count)];
        }

        void write(java.io.DataOutputStream out) throws java.io.IOException {
            out.writeInt(count);
            out.writeInt(next);
            LearnedState.doubles(out, values);
        }

        void read(java.io.DataInputStream in) throws java.io.IOException {
            count = in.readInt();
            next = in.readInt();
            if (count < 0 || count > WINDOW || next < 0 || next >= WINDOW) {
                throw new java.io.IOException("cost cell holds " + count + " of " + WINDOW);
            }
            LearnedState.doubles(in, values);
            if (count > 0) {
                double[] sorted = Arrays.copyOf(values, count);
                Arrays.sort(sorted);
                typical = sorted[(int) (quantile * count)];
            }
        }

        double typical() {
            return typical;
        }
    }
}
