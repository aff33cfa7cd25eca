package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class AdaptiveTetrisPolicyTest {

    /** Verification flat to 4096 query tokens: every drafted token is worth verifying. */
    private static final KneeStepCostModel FLAT =
            new KneeStepCostModel(1e-3, 4096, 10e-3, 4096, 1e-4, 0);

    /** Each verified token costs as much as a whole flat pass: speculation does not pay. */
    private static final LinearStepCostModel TOKENS_EXPENSIVE =
            new LinearStepCostModel(1e-4, 0, 0, 1e-4, 1.0, 0);

    private static AdaptiveTetrisPolicy policy(StepCostModel cost) {
        return new AdaptiveTetrisPolicy(8, cost, new AcceptancePredictor(0.7));
    }

    private static double[][] drafts(double... rowProbabilities) {
        double[][] rows = new double[rowProbabilities.length][6];
        for (int i = 0; i < rows.length; i++) {
            Arrays.fill(rows[i], Math.log(rowProbabilities[i]));
        }
        return rows;
    }

    private static double[] ones(int n) {
        double[] w = new double[n];
        Arrays.fill(w, 1);
        return w;
    }

    @Test
    void verifiesEverythingWhenVerificationIsFlat() {
        AdaptiveTetrisPolicy p = policy(FLAT);
        RoundShape shape = new RoundShape(3, 40);
        assertThat(p.draftLength(shape)).as("the first round measures plain decoding").isZero();
        assertThat(p.draftLength(shape)).isGreaterThan(0);
        Allocation a = Policies.allocate(p, drafts(0.9, 0.5, 0.2), ones(3), shape);
        assertThat(a.verify()).containsExactly(6, 6, 6);
        assertThat(a.budget()).isEqualTo(18); // every drafted token
    }

    @Test
    void verifiesNothingWhenEveryTokenCostsMoreThanItCanReturn() {
        AdaptiveTetrisPolicy p = policy(TOKENS_EXPENSIVE);
        RoundShape shape = new RoundShape(3, 40);
        assertThat(p.draftLength(shape)).isZero();
        Allocation a = Policies.allocate(p, drafts(0.99, 0.5, 0.2), ones(3), shape);
        assertThat(a.verify()).containsOnly(0);
    }

    @Test
    void aPerTokenCostSpendsTheBudgetOnTheLikelyTokens() {
        // Variable-length verification: each token costs 0.2 ms on a 1 ms pass, so a token
        // pays off only while its chance of being accepted stays above about 0.4.
        KneeStepCostModel cost = new KneeStepCostModel(0, 1, 1e-3, 1, 2e-4, 0);
        AdaptiveTetrisPolicy p = policy(cost);
        RoundShape shape = new RoundShape(3, 40);
        p.draftLength(shape);
        Allocation a = Policies.allocate(p, drafts(0.98, 0.8, 0.05), ones(3), shape);
        // Row 0's six tokens (survival 0.98^j) all beat the average; row 1's first (0.8) still
        // does, its second (0.64) no longer; row 2's never.
        assertThat(a.verify()).containsExactly(6, 1, 0);
    }

    @Test
    void underPaddingOneConfidentRowDoesNotStretchTheWholeBatch() {
        // A runner that pads every row to the longest (tetris.model.pack-rows=false): a column
        // costs 3 x 0.3 ms on a 1 ms pass.
        LinearStepCostModel linear = new LinearStepCostModel(0, 0, 0, 1e-3, 3e-4, 0);
        StepCostModel padded =
                new StepCostModel() {
                    @Override
                    public double draftStepSeconds(int batchSize, double context) {
                        return 0;
                    }

                    @Override
                    public double verifySeconds(int batchSize, double tokens, double context) {
                        return linear.verifySeconds(batchSize, tokens, context);
                    }

                    @Override
                    public double verifySeconds(
                            int batchSize, int total, int longest, double context) {
                        return verifySeconds(batchSize, longest + 1.0, context);
                    }
                };
        AdaptiveTetrisPolicy p = policy(padded);
        RoundShape shape = new RoundShape(3, 40);
        p.draftLength(shape);
        int[] v = Policies.allocate(p, drafts(0.999, 0.3, 0.3), ones(3), shape).verify();
        // The first column pays for all three rows (1.6 expected tokens for 0.9 ms); a further
        // column for the confident row alone would cost the same 0.9 ms for under one token.
        // Uncapped, TETRIS order would give that row all six first.
        assertThat(v).containsExactly(1, 1, 1);
        // Three confident rows share each padded column: worth it.
        int[] all = Policies.allocate(p, drafts(0.999, 0.999, 0.999), ones(3), shape).verify();
        assertThat(all).containsExactly(6, 6, 6);
    }

    @Test
    void observedAcceptanceMovesThePlannedDraftLength() {
        // Draft steps cost a tenth of a pass, verification is flat.
        KneeStepCostModel cost = new KneeStepCostModel(1e-3, 4096, 10e-3, 4096, 0, 0);
        RoundShape shape = new RoundShape(8, 40);
        AdaptiveTetrisPolicy good = policy(cost);
        AdaptiveTetrisPolicy bad = policy(cost);
        for (int round = 0; round < 50; round++) {
            feed(good, shape, 0.95, true);
            feed(bad, shape, 0.95, false);
        }
        assertThat(good.draftLength(shape)).isEqualTo(8); // the most it may plan: 6 + 2
        assertThat(bad.draftLength(shape)).isZero();
        assertThat(good.calibration()).isPresent();
        assertThat(good.calibration().get().observations()).isPositive();
        // Raw draft probability 0.95 against all-rejected outcomes: the raw error is large, the
        // calibrated one learns it.
        var report = bad.calibration().orElseThrow();
        assertThat(report.raw().ece()).isGreaterThan(0.9);
        assertThat(report.calibratedError()).isLessThan(report.raw().ece());
    }

    /** One round: plan, draft {@code probability} for every planned token, verify, report. */
    private static int[] round(
            AdaptiveTetrisPolicy p, String[] ids, RoundShape shape, boolean accept) {
        return round(p, ids, shape, accept, FLAT);
    }

    /** One round, reporting the time {@code truth} gives it. */
    private static int[] round(
            AdaptiveTetrisPolicy p,
            String[] ids,
            RoundShape shape,
            boolean accept,
            StepCostModel truth) {
        int n = ids.length;
        int[] lengths = p.plan(ids, new int[n], shape);
        double[][] rows = new double[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = new double[lengths[i]];
            Arrays.fill(rows[i], -0.01);
        }
        int[] verify = p.allocate(Candidates.of(ids, rows, new int[n]), shape).verify();
        int[] accepted = accept ? verify.clone() : new int[n];
        // The round takes the time the true cost model gives it.
        int steps = Arrays.stream(lengths).max().orElse(0);
        int longest = Arrays.stream(verify).max().orElse(0);
        int total = Arrays.stream(verify).sum();
        int drafting = (int) Arrays.stream(lengths).filter(l -> l > 0).count();
        p.learn(
                new RoundOutcome(
                        verify,
                        accepted,
                        null,
                        new RoundCost(
                                n,
                                shape.meanContextLength(),
                                drafting,
                                steps,
                                truth.draftSeconds(Math.max(1, drafting), steps, 40),
                                longest + 1,
                                total,
                                truth.verifySeconds(n, total, longest, 40),
                                0)));
        return lengths;
    }

    @Test
    void turnsSpeculationOffWhenItDoesNotPayAndProbesNowAndThenLessOften() {
        AdaptiveTetrisPolicy p = policy(TOKENS_EXPENSIVE);
        RoundShape shape = new RoundShape(6, 40);
        String[] ids = {"a", "b", "c", "d", "e", "f"};
        assertThat(round(p, ids, shape, false, TOKENS_EXPENSIVE))
                .as("plain decoding measured first")
                .containsOnly(0);
        java.util.List<Integer> drafted = new java.util.ArrayList<>();
        for (int r = 1; r <= 300; r++) {
            int[] lengths = round(p, ids, shape, false, TOKENS_EXPENSIVE);
            if (Arrays.stream(lengths).sum() > 0) {
                drafted.add(r);
                // A few requests at a time: the ones it knows least about.
                assertThat(Arrays.stream(lengths).filter(l -> l > 0).count())
                        .isEqualTo(AdaptiveTetrisPolicy.PROBE_ROWS);
            }
        }
        // Exploration: every other round until the predictor has seen enough outcomes (one
        // scored token per probed request, all rejected).
        int explore = AdaptiveTetrisPolicy.EXPLORE_TOKENS / AdaptiveTetrisPolicy.PROBE_ROWS;
        for (int i = 0; i < explore; i++) {
            assertThat(drafted.get(i)).isEqualTo(1 + 2 * i);
        }
        // Then off, with probes whose wait doubles.
        int last = drafted.get(explore - 1);
        assertThat(drafted.subList(explore, drafted.size()))
                .containsExactly(last + 32, last + 32 + 64, last + 32 + 64 + 128);
    }

    @Test
    void whileSpeculatingItStillMeasuresPlainDecodingNowAndThen() {
        AdaptiveTetrisPolicy p = policy(FLAT);
        RoundShape shape = new RoundShape(3, 40);
        String[] ids = {"a", "b", "c"};
        java.util.List<Integer> off = new java.util.ArrayList<>();
        for (int r = 0; r < 400; r++) {
            if (Arrays.stream(round(p, ids, shape, true)).sum() == 0) {
                off.add(r);
            }
        }
        // The first round, every other round while exploring, then, since the plan wins by far
        // here, one in every twice the baseline interval.
        assertThat(off.get(0)).isZero();
        int i = 1;
        while (off.get(i + 1) - off.get(i) == 2) {
            i++;
        }
        assertThat(off.size() - i).isGreaterThanOrEqualTo(4);
        for (int j = i + 1; j + 1 < off.size(); j++) {
            assertThat(off.get(j + 1) - off.get(j))
                    .isEqualTo(2 * AdaptiveTetrisPolicy.BASELINE_INTERVAL);
        }
    }

    @Test
    void stopsDraftingWhatItsVerificationWillNotVerify() {
        // Each verified token costs a tenth of a pass; a draft step a hundredth.
        LinearStepCostModel cost = new LinearStepCostModel(1e-4, 0, 0, 10e-3, 1e-3, 0);
        AdaptiveTetrisPolicy p = policy(cost);
        String[] ids = {"a", "b"};
        RoundShape shape = new RoundShape(2, 40);
        int[] lengths = new int[2];
        for (int r = 0; r < 400; r++) {
            lengths = p.plan(ids, new int[2], shape);
            // The draft is sure of its first two tokens and nearly never of the rest: once
            // drafted, the estimates leave those unverified, though every verified token is
            // accepted (so the request's own rate, which plans the draft, stays high).
            double[][] rows = new double[2][];
            for (int i = 0; i < 2; i++) {
                rows[i] = new double[lengths[i]];
                for (int j = 0; j < lengths[i]; j++) {
                    rows[i][j] = j < 2 ? -0.01 : -9;
                }
            }
            int[] verify = p.allocate(Candidates.of(ids, rows, new int[2]), shape).verify();
            int steps = Arrays.stream(lengths).max().orElse(0);
            int longest = Arrays.stream(verify).max().orElse(0);
            int total = Arrays.stream(verify).sum();
            p.learn(
                    new RoundOutcome(
                            verify,
                            verify.clone(),
                            null,
                            new RoundCost(
                                    2,
                                    40,
                                    steps > 0 ? 2 : 0,
                                    steps,
                                    cost.draftSeconds(2, steps, 40),
                                    longest + 1,
                                    total,
                                    cost.verifySeconds(2, total, longest, 40),
                                    0)));
        }
        double[] reach = p.reach();
        assertThat(reach[0]).isGreaterThan(0.9);
        assertThat(reach[2]).as("drafted at depth 3, verified").isLessThan(0.2);
        assertThat(lengths).as("drafts no deeper than it verifies").containsOnly(2);
    }

    @Test
    void restoresWhatItLearnedExactly() {
        AdaptiveTetrisPolicy p = policy(FLAT);
        RoundShape shape = new RoundShape(3, 40);
        String[] ids = {"a", "b", "c"};
        for (int r = 0; r < 60; r++) {
            round(p, ids, shape, r % 3 != 0);
        }
        byte[] learned = p.learned();
        AdaptiveTetrisPolicy restored = policy(FLAT);
        restored.restore(learned);

        assertThat(restored.learned()).isEqualTo(learned);
        String[] fresh = {"x", "y", "z"};
        double[][] rows = {{-0.1, -0.5, -2}, {-0.01, -0.01, -0.01}, {-1, -1, -1}};
        // Both know nothing of the new requests: they plan and allocate alike.
        assertThat(restored.plan(fresh, new int[3], shape))
                .isEqualTo(p.plan(fresh, new int[3], shape));
        Allocation a = p.allocate(Candidates.of(fresh, rows, new int[3]), shape);
        Allocation b = restored.allocate(Candidates.of(fresh, rows, new int[3]), shape);
        assertThat(b.verify()).isEqualTo(a.verify());
        assertThat(b.predictedSeconds()).isEqualTo(a.predictedSeconds());
        // Something was learned: a fresh policy says otherwise.
        assertThat(policy(FLAT).learned()).isNotEqualTo(learned);
    }

    @Test
    void refusesLearnedStateThatDoesNotParse() {
        AdaptiveTetrisPolicy p = policy(FLAT);
        byte[] learned = p.learned();
        byte[] cut = Arrays.copyOf(learned, learned.length / 2);
        assertThatThrownBy(() -> policy(FLAT).restore(cut))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("learned policy state");
    }

    @Test
    void carriesOverWhatItLearnedButNothingAboutRequests() {
        AdaptiveTetrisPolicy p = policy(FLAT);
        RoundShape shape = new RoundShape(3, 40);
        String[] ids = {"a", "b", "c"};
        for (int r = 0; r < 60; r++) {
            round(p, ids, shape, true);
        }
        AdaptiveTetrisPolicy next = policy(FLAT);
        next.restore(p.learned());
        // No first-round baseline, no exploration: it plans full drafts at once.
        assertThat(next.plan(new String[] {"x", "y", "z"}, new int[3], shape)).containsOnly(8);
        assertThat(next.calibration().orElseThrow().observations()).isZero();
    }

    @Test
    void aRequestThatIsRejectedDraftsLessThanOneThatIsAccepted() {
        KneeStepCostModel cost = new KneeStepCostModel(1e-3, 4096, 10e-3, 4096, 0, 0);
        AdaptiveTetrisPolicy p = policy(cost);
        RoundShape shape = new RoundShape(2, 40);
        String[] ids = {"easy", "hard"};
        for (int round = 0; round < 40; round++) {
            int[] lengths = p.plan(ids, new int[2], shape);
            int d = Math.max(1, Math.max(lengths[0], lengths[1]));
            double[][] rows = new double[2][d];
            for (double[] row : rows) {
                Arrays.fill(row, Math.log(0.6));
            }
            p.allocate(Candidates.of(ids, rows, new int[2]), shape);
            p.learn(RoundOutcome.of(new int[] {d, d}, new int[] {d, 0}));
        }
        int[] lengths = p.plan(ids, new int[2], shape);
        assertThat(lengths[0]).isEqualTo(8);
        assertThat(lengths[1]).isLessThanOrEqualTo(2);
    }

    @Test
    void learnsRoundTimesAndScoresItsPredictions() {
        AdaptiveTetrisPolicy p = policy(FLAT);
        RoundShape shape = new RoundShape(3, 40);
        double[] errors = new double[2];
        for (int round = 0; round < 20; round++) {
            int d = p.draftLength(shape);
            Allocation a = Policies.allocate(p, drafts(0.9, 0.9, 0.9), ones(3), shape);
            assertThat(a.predictedSeconds()).isPositive();
            // The machine is twice as slow as the prior says.
            double draft = 2 * 6 * FLAT.draftStepSeconds(3, 40);
            double verify = 2 * FLAT.verifySeconds(3, 18, 6, 40);
            p.learn(
                    new RoundOutcome(
                            a.verify(),
                            a.verify(),
                            null,
                            new RoundCost(3, 40, 3, 6, draft, 7, 18, verify, 0)));
            if (round == 0) {
                errors[0] = p.costReport().orElseThrow().medianRelativeError();
            }
        }
        errors[1] =
                Math.abs(
                        Policies.allocate(p, drafts(0.9, 0.9, 0.9), ones(3), shape)
                                                .predictedSeconds()
                                        / (2
                                                * (6 * FLAT.draftStepSeconds(3, 40)
                                                        + FLAT.verifySeconds(3, 18, 6, 40)))
                                - 1);
        assertThat(errors[0]).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.01));
        assertThat(errors[1]).isLessThan(0.01);
        assertThat(p.costReport().orElseThrow().rounds()).isEqualTo(20);
    }

    private static void feed(
            AdaptiveTetrisPolicy p, RoundShape shape, double probability, boolean accept) {
        int draft = Math.max(1, p.draftLength(shape));
        double[][] rows = new double[8][draft];
        for (double[] row : rows) {
            Arrays.fill(row, Math.log(probability));
        }
        Allocation a = Policies.allocate(p, rows, ones(8), new int[8], shape);
        int[] verified = a.verify();
        int[] accepted = accept ? verified.clone() : new int[8];
        if (Arrays.stream(verified).sum() == 0) {
            // Nothing verified: tell it about one token per row anyway, as a forced probe.
            verified = new int[8];
            Arrays.fill(verified, 1);
            accepted = accept ? verified.clone() : new int[8];
        }
        p.learn(RoundOutcome.of(verified, accepted));
    }
}
