package io.tetris.policy;

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
 *       speculation) included and favoured by the no-speculation bonus. A draft position counts at
 *       the share of its drafted tokens that verification recently chose ({@link #reach()}): a
 *       draft that is never verified costs a step and returns nothing.
 *   <li><b>Verification.</b> The TETRIS order over the estimates ranks every drafted token once;
 *       the policy verifies the prefix that maximises expected tokens per predicted round time,
 *       none included; it also tries capping every row at each length, so that where a pass costs
 *       its longest row (a padding runner, attention) one confident outlier cannot stretch it.
 *   <li><b>Exploration.</b> While speculation is off, a round after {@value #PROBE_INTERVAL} drafts
 *       and verifies {@value #PROBE_LENGTH} tokens for the {@value #PROBE_ROWS} requests it knows
 *       least (the wait doubling after each probe, to {@value #MAX_PROBE_INTERVAL}, until a
 *       speculating round is measured faster than plain decoding at its batch size), so acceptance
 *       and costs that change (an easier mix of requests, a faster device) can turn it back on;
 *       while speculating, the first round and every {@value #BASELINE_INTERVAL}th run without, so
 *       the cost of plain decoding it compares against is measured, not assumed.
 *   <li><b>Guard.</b> The realized tokens per sequence-second of recent planned rounds are kept per
 *       power-of-two batch size, with and without speculation (plain decoding measured every fourth
 *       round until it has {@value #GUARD_ROUNDS}); where speculation measured slower (by the
 *       no-speculation bonus), it stays off whatever the cost model predicts, until that
 *       measurement is {@value #GUARD_STALE} rounds old.
 * </ul>
 *
 * Verification is lossless whatever is chosen; only speed depends on these estimates.
 */
final class AdaptiveTetrisPolicy implements BudgetPolicy {

    static final double MIN_SURVIVAL = 0.05;
    static final int PROBE_INTERVAL = 32;
    static final int MAX_PROBE_INTERVAL = 1024;

    /**
     * Requests a probe drafts for. Few: the draft model skips requests while speculation is off, so
     * drafting for one first catches its cache up on every token since, a prefill's cost.
     */
    static final int PROBE_ROWS = 4;

    /** Until this many verified tokens have trained the predictor, it only probes. */
    static final int EXPLORE_TOKENS = 64;

    static final int PROBE_LENGTH = 2;

    /** While speculating, every this many rounds one runs without, to keep its cost measured. */
    static final int BASELINE_INTERVAL = 32;

    /**
     * Sequence-rounds of each kind the guard needs at a batch size before it overrules the cost
     * model: one round at batch 32, 32 at batch 1, where a single round's acceptance is noise.
     */
    static final int GUARD_ROWS = 32;

    /** Speculating rounds older than this no longer count against speculating. */
    static final int GUARD_STALE = 1024;

    private static final int GUARD_BUCKETS = 16;

    /** Weight of one round in {@link #reach}'s moving average. */
    static final double REACH_RATE = 0.05;

    /** A plan this many times plain decoding's goodput is clear enough to measure plain seldom. */
    static final double CLEAR_MARGIN = 1.5;

    private final int maxDraft;
    private final OnlineCostModel costModel;
    private final AcceptancePredictor predictor;
    private final CostScore costScore = new CostScore();
    private final double noSpeculationBonus;

    private boolean probing;
    private boolean exploring;
    private AcceptancePredictor.Prediction last;
    private double lastPredicted = Double.NaN;

    private final Guard guard = new Guard();

    /**
     * {@code [position]} the share of drafted tokens at each draft position that its own
     * verification then chose to verify (a moving average over planned rounds). The plan of how far
     * to draft sees each request's rate before drafting; once drafted, the estimates see the
     * draft's own probabilities and verification often stops short. A draft that is never verified
     * costs a step and returns nothing, so the plan counts a position's tokens and verification
     * cost at this share.
     */
    private final double[] reach;

    private final Schedule schedule = new Schedule();
    private long rounds;
    private int lastTokens;
    private int lastRows;
    private boolean lastPlanned;

    /**
     * @param maxDraft most tokens drafted per request and round
     * @param prior the cost model's shape before it has measured anything
     */
    AdaptiveTetrisPolicy(int maxDraft, StepCostModel prior, AcceptancePredictor predictor) {
        this(maxDraft, prior, predictor, 1.0);
    }

    /**
     * @param noSpeculationBonus factor on plain decoding's predicted goodput: speculation must beat
     *     it by this much to be chosen (the cost of a wrong guess is asymmetric: plain decoding
     *     never loses to itself)
     */
    AdaptiveTetrisPolicy(
            int maxDraft,
            StepCostModel prior,
            AcceptancePredictor predictor,
            double noSpeculationBonus) {
        if (maxDraft < 1 || !(noSpeculationBonus >= 1)) {
            throw new IllegalArgumentException(
                    "tetris-adaptive needs max draft >= 1, got " + maxDraft);
        }
        this.maxDraft = maxDraft;
        this.reach = new double[maxDraft];
        Arrays.fill(reach, 1);
        this.costModel =
                prior instanceof OnlineCostModel learned
                        ? learned.copy()
                        : new OnlineCostModel(Objects.requireNonNull(prior, "prior"));
        this.predictor = Objects.requireNonNull(predictor, "predictor");
        this.noSpeculationBonus = noSpeculationBonus;
    }

    @Override
    public String name() {
        return "tetris-adaptive";
    }

    /** The longest draft {@link #plan} would ask of a batch of this shape, of unknown requests. */
    int draftLength(RoundShape shape) {
        int n = Math.max(1, shape.batchSize());
        String[] ids = new String[n];
        Arrays.fill(ids, "");
        return Arrays.stream(plan(ids, new int[n], shape)).max().orElse(0);
    }

    @Override
    public int[] plan(String[] ids, int[] groups, RoundShape shape) {
        int[] lengths = choose(ids, groups, shape);
        lastPlanned = !probing && !exploring;
        rounds++;
        return lengths;
    }

    private int[] choose(String[] ids, int[] groups, RoundShape shape) {
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
        double bestGoodput =
                noSpeculationBonus
                        * n
                        / (costModel.verifySeconds(n, 0, 0, ctx)
                                + costModel.otherSeconds(n, false));
        double plainGoodput = bestGoodput;
        double otherSpeculating = costModel.otherSeconds(n, true);
        int[] bestLengths = new int[n];
        for (int steps = 1; steps <= maxDraft; steps++) {
            int[] lengths = lengths(survival, steps);
            double expected = n;
            double verified = 0;
            double deepest = 0;
            int longest = 0;
            for (int i = 0; i < n; i++) {
                double row = 0;
                for (int j = 0; j < lengths[i]; j++) {
                    expected += survival[i][j] * reach[j];
                    row += reach[j];
                }
                verified += row;
                deepest = Math.max(deepest, row);
                longest = Math.max(longest, lengths[i]);
            }
            double seconds =
                    costModel.draftSeconds(drafting(lengths), longest, ctx)
                            + costModel.verifySeconds(
                                    n, (int) Math.round(verified), (int) Math.round(deepest), ctx)
                            + otherSpeculating;
            double goodput = expected / seconds;
            if (longest > 0 && goodput > bestGoodput) {
                best = steps;
                bestGoodput = goodput;
                bestLengths = lengths;
            }
        }
        probing = false;
        boolean explored = exploring;
        exploring = false;
        if (!schedule.baselineMeasured) {
            // The plan weighs speculation against plain decoding, whose cost it must measure.
            schedule.baselineMeasured = true;
            return new int[n];
        }
        if (predictor.trained() < EXPLORE_TOKENS) {
            // Too little is known of acceptance to plan: draft for a part of the batch only, every
            // other round, so plain decoding is measured as often.
            exploring = !explored;
            return exploring ? probe(ids, Math.max(PROBE_ROWS, n / 4)) : new int[n];
        }
        if (best > 0 && guard.measuredSlower(n, rounds, noSpeculationBonus)) {
            best = 0;
            bestLengths = new int[n];
        }
        if (best > 0) {
            schedule.roundsOff = 0;
            // Plain decoding is measured for the guard: often while it lacks measurements where
            // the plan's margin is thin; seldom where the plan expects speculation to win by far
            // (each such round gives up that margin).
            boolean clear = bestGoodput >= CLEAR_MARGIN * plainGoodput;
            int interval =
                    clear
                            ? 2 * BASELINE_INTERVAL
                            : guard.plainRows(n) < GUARD_ROWS ? 4 : BASELINE_INTERVAL;
            if (++schedule.roundsOn % interval == 0) {
                return new int[n];
            }
            return bestLengths;
        }
        if (++schedule.roundsOff >= schedule.probeInterval) {
            schedule.roundsOff = 0;
            // Each probe that leaves speculation off makes the next one wait twice as long.
            schedule.probeInterval = Math.min(MAX_PROBE_INTERVAL, 2 * schedule.probeInterval);
            return probe(ids, PROBE_ROWS);
        }
        return bestLengths;
    }

    /** Drafts {@value #PROBE_LENGTH} for the {@code rows} requests it knows least about. */
    private int[] probe(String[] ids, int rows) {
        probing = true;
        int n = ids.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(
                order, java.util.Comparator.comparingDouble(i -> predictor.observations(ids[i])));
        int[] probe = new int[n];
        for (int r = 0; r < Math.min(rows, n); r++) {
            probe[order[r]] = Math.min(PROBE_LENGTH, maxDraft);
        }
        return probe;
    }

    private static int drafting(int[] lengths) {
        int rows = 0;
        for (int l : lengths) {
            rows += l > 0 ? 1 : 0;
        }
        return rows;
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
        int rows = 0;
        for (double[] row : c.logProbs()) {
            rows += row.length > 0 ? 1 : 0;
        }
        double draftSeconds = costModel.draftSeconds(rows, steps, ctx);
        int[] verify;
        if (probing) {
            verify = new int[n];
            for (int i = 0; i < n; i++) {
                verify[i] = c.logProbs()[i].length;
            }
        } else {
            verify = bestPlan(estimates, c.weights(), ctx);
            learnReach(c.logProbs(), verify);
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

    private void learnReach(double[][] drafted, int[] verify) {
        for (int i = 0; i < drafted.length; i++) {
            for (int j = 0; j < Math.min(drafted[i].length, maxDraft); j++) {
                reach[j] += REACH_RATE * ((j < verify[i] ? 1 : 0) - reach[j]);
            }
        }
    }

    /** The share of drafted tokens at each position that verification chose (a copy). */
    double[] reach() {
        return reach.clone();
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
    public void learn(RoundOutcome outcome) {
        int[] verified = outcome.verified();
        lastRows = verified.length;
        lastTokens = lastRows;
        for (int a : outcome.accepted()) {
            lastTokens += a;
        }
        long start = System.nanoTime();
        if (last != null) {
            predictor.observe(last, verified, outcome.accepted(), outcome.targetMargins());
            last = null;
        }
        RoundCost cost = outcome.cost();
        if (cost != null) {
            // Training the predictor is this round's host work too; the clock could not see it.
            learnCost(
                    cost.withOtherSeconds(cost.otherSeconds() + (System.nanoTime() - start) / 1e9));
        }
    }

    private void learnCost(RoundCost cost) {
        double wall = cost.seconds() + Math.max(0, cost.otherSeconds());
        if (lastPlanned && lastRows > 0 && wall > 0) {
            guard.add(lastRows, lastTokens, wall, cost.draftSteps() > 0, rounds);
            lastPlanned = false;
        }
        costScore.add(lastPredicted, cost.seconds());
        costModel.observe(cost);
        lastPredicted = Double.NaN;
    }

    @Override
    public byte[] learned() {
        return LearnedState.write(
                out -> {
                    predictor.write(out);
                    costModel.write(out);
                    guard.write(out);
                    out.writeInt(reach.length);
                    LearnedState.doubles(out, reach);
                    out.writeLong(rounds);
                    // Its exploration schedule too: a replica does not start probing afresh.
                    schedule.write(out);
                });
    }

    @Override
    public void restore(byte[] learned) {
        if (learned.length == 0) {
            return;
        }
        LearnedState.read(
                learned,
                in -> {
                    predictor.read(in);
                    costModel.read(in);
                    guard.read(in);
                    double[] shares = new double[in.readInt()];
                    LearnedState.doubles(in, shares);
                    // A replica restarted with another max draft keeps the positions both have.
                    System.arraycopy(shares, 0, reach, 0, Math.min(shares.length, reach.length));
                    rounds = in.readLong();
                    schedule.read(in);
                });
    }

    @Override
    public Optional<CalibrationReport> calibration() {
        return Optional.of(predictor.report());
    }

    @Override
    public Optional<CostReport> costReport() {
        return Optional.of(costScore.report());
    }

    /**
     * When it measures plain decoding and when it probes: whether the first plain round was
     * measured, rounds since speculation turned off and since it turned on, and the wait between
     * probes while it is off (doubling after each probe that leaves it off).
     */
    private static final class Schedule {
        boolean baselineMeasured;
        int roundsOff;
        int roundsOn;
        int probeInterval = PROBE_INTERVAL;

        void write(java.io.DataOutputStream out) throws java.io.IOException {
            out.writeBoolean(baselineMeasured);
            out.writeInt(roundsOff);
            out.writeInt(roundsOn);
            out.writeInt(probeInterval);
        }

        void read(java.io.DataInputStream in) throws java.io.IOException {
            baselineMeasured = in.readBoolean();
            roundsOff = in.readInt();
            roundsOn = in.readInt();
            probeInterval = in.readInt();
        }
    }

    /**
     * The guard against a wrong cost model: realized tokens per sequence-second of recent planned
     * rounds (not probes), per power-of-two batch size, without [0] and with [1] speculation.
     */
    private static final class Guard {
        private final Realized[][] realized = new Realized[GUARD_BUCKETS][2]; // [bucket][on]
        private final long[] lastOn = new long[GUARD_BUCKETS]; // round of the last speculating one

        Guard() {
            for (Realized[] kinds : realized) {
                kinds[0] = new Realized();
                kinds[1] = new Realized();
            }
        }

        void add(int rows, int tokens, double wall, boolean on, long round) {
            int b = bucket(rows);
            realized[b][on ? 1 : 0].add(tokens, rows, rows * wall);
            if (on) {
                lastOn[b] = round;
            }
        }

        /** Sequence-rounds of plain decoding measured at about this batch size. */
        int plainRows(int n) {
            return realized[bucket(n)][0].rows();
        }

        /**
         * Whether the rounds measured at about this batch size (the same power-of-two bucket) say
         * speculating is slower than not, by the no-speculation bonus; false while either kind has
         * fewer than {@value #GUARD_ROWS} sequence-rounds, or the speculating ones are older than
         * {@value #GUARD_STALE} rounds (traffic may have changed since).
         */
        boolean measuredSlower(int n, long now, double noSpeculationBonus) {
            int b = bucket(n);
            Realized off = realized[b][0];
            Realized on = realized[b][1];
            return off.rows() >= GUARD_ROWS
                    && on.rows() >= GUARD_ROWS
                    && now - lastOn[b] <= GUARD_STALE
                    && on.rate() * noSpeculationBonus < off.rate();
        }

        void write(java.io.DataOutputStream out) throws java.io.IOException {
            for (int b = 0; b < GUARD_BUCKETS; b++) {
                realized[b][0].write(out);
                realized[b][1].write(out);
                out.writeLong(lastOn[b]);
            }
        }

        void read(java.io.DataInputStream in) throws java.io.IOException {
            for (int b = 0; b < GUARD_BUCKETS; b++) {
                realized[b][0].read(in);
                realized[b][1].read(in);
                lastOn[b] = in.readLong();
            }
        }

        private static int bucket(int n) {
            return Math.min(
                    GUARD_BUCKETS - 1, 32 - Integer.numberOfLeadingZeros(Math.max(1, n) - 1));
        }

        /** Tokens per sequence-second over the last {@value #WINDOW} rounds of one kind. */
        private static final class Realized {
            private static final int WINDOW = 32;
            private final double[] tokens = new double[WINDOW];
            private final int[] rows = new int[WINDOW];
            private final double[] rowSeconds = new double[WINDOW];
            private int next;

            void add(double roundTokens, int roundRows, double roundRowSeconds) {
                tokens[next] = roundTokens;
                rows[next] = roundRows;
                rowSeconds[next] = roundRowSeconds;
                next = (next + 1) % WINDOW;
            }

            int rows() {
                int sum = 0;
                for (int r : rows) {
                    sum += r;
                }
                return sum;
            }

            double rate() {
                double t = 0;
                double s = 0;
                for (int i = 0; i < WINDOW; i++) {
                    t += tokens[i];
                    s += rowSeconds[i];
                }
                return s == 0 ? 0 : t / s;
            }

            void write(java.io.DataOutputStream out) throws java.io.IOException {
                LearnedState.doubles(out, tokens);
                for (int r : rows) {
                    out.writeInt(r);
                }
                LearnedState.doubles(out, rowSeconds);
                out.writeInt(next);
            }

            void read(java.io.DataInputStream in) throws java.io.IOException {
                LearnedState.doubles(in, tokens);
                for (int i = 0; i < WINDOW; i++) {
                    rows[i] = in.readInt();
                }
                LearnedState.doubles(in, rowSeconds);
                next = Math.floorMod(in.readInt(), WINDOW);
            }
        }
    }
}
