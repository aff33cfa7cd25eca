package io.tetris.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

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
        return new AdaptiveTetrisPolicy(6, 2, cost, 0.7, AcceptanceCalibrator.standard());
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
        assertThat(p.draftLength(shape)).isGreaterThan(0);
        Allocation a = p.allocate(drafts(0.9, 0.5, 0.2), ones(3), shape);
        assertThat(a.verify()).containsExactly(6, 6, 6);
        assertThat(a.budget()).isEqualTo(3 * p.draftLength(shape));
    }

    @Test
    void verifiesNothingWhenEveryTokenCostsMoreThanItCanReturn() {
        AdaptiveTetrisPolicy p = policy(TOKENS_EXPENSIVE);
        RoundShape shape = new RoundShape(3, 40);
        assertThat(p.draftLength(shape)).isZero();
        Allocation a = p.allocate(drafts(0.99, 0.5, 0.2), ones(3), shape);
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
        Allocation a = p.allocate(drafts(0.98, 0.8, 0.05), ones(3), shape);
        // Row 0's six tokens (survival 0.98^j) all beat the average; row 1's first (0.8) still
        // does, its second (0.64) no longer; row 2's never.
        assertThat(a.verify()).containsExactly(6, 1, 0);
    }

    @Test
    void underPaddingOneConfidentRowDoesNotStretchTheWholeBatch() {
        // Our runner pads every row to the longest: a column costs 3 x 0.3 ms on a 1 ms pass.
        LinearStepCostModel padded = new LinearStepCostModel(0, 0, 0, 1e-3, 3e-4, 0);
        AdaptiveTetrisPolicy p = policy(padded);
        RoundShape shape = new RoundShape(3, 40);
        p.draftLength(shape);
        int[] v = p.allocate(drafts(0.999, 0.3, 0.3), ones(3), shape).verify();
        // The first column pays for all three rows (1.6 expected tokens for 0.9 ms); a further
        // column for the confident row alone would cost the same 0.9 ms for under one token.
        // Uncapped, TETRIS order would give that row all six first.
        assertThat(v).containsExactly(1, 1, 1);
        // Three confident rows share each padded column: worth it.
        int[] all = p.allocate(drafts(0.999, 0.999, 0.999), ones(3), shape).verify();
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
        assertThat(report.rawError()).isGreaterThan(0.9);
        assertThat(report.calibratedError()).isLessThan(report.rawError());
    }

    private static void feed(
            AdaptiveTetrisPolicy p, RoundShape shape, double probability, boolean accept) {
        int draft = Math.max(1, p.draftLength(shape));
        double[][] rows = new double[8][draft];
        for (double[] row : rows) {
            Arrays.fill(row, Math.log(probability));
        }
        Allocation a = p.allocate(rows, ones(8), new int[8], shape);
        int[] verified = a.verify();
        int[] accepted = accept ? verified.clone() : new int[8];
        if (Arrays.stream(verified).sum() == 0) {
            // Nothing verified: tell it about one token per row anyway, as a forced probe.
            verified = new int[8];
            Arrays.fill(verified, 1);
            accepted = accept ? verified.clone() : new int[8];
        }
        p.observe(verified, accepted);
    }
}
