package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AcceptancePredictorTest {

    @Test
    void startsAsTheRawDraftProbability() {
        AcceptancePredictor p = new AcceptancePredictor(0.7);
        double[][] lps = {{Math.log(0.9), Math.log(0.5)}, {Math.log(0.2)}};
        double[][] e = p.predict(Candidates.of(lps, new double[] {1, 1}, new int[2])).estimates();
        assertThat(e[0][0]).isCloseTo(0.9, within(0.03));
        assertThat(e[0][1]).isCloseTo(0.5, within(0.03));
        assertThat(e[1][0]).isCloseTo(0.2, within(0.03));
    }

    /**
     * Half the requests accept 90 % of their drafts, half 20 %, and the draft's probability says
     * nothing about which: only the request's own history can rank them. The predictor must learn
     * that (AUC well above the raw probability's 0.5) and end calibrated.
     */
    @Test
    void learnsWhichRequestsAreEasyWhenTheDraftCannotTell() {
        AcceptancePredictor p = new AcceptancePredictor(0.7);
        Random rng = new Random(7);
        int rows = 32;
        String[] ids = new String[rows];
        for (int round = 0; round < 400; round++) {
            for (int i = 0; i < rows; i++) {
                // Requests come and go: each lives about 20 rounds.
                if (round % 20 == i % 20 || ids[i] == null) {
                    ids[i] = "r" + round + "-" + i;
                }
            }
            double[][] lps = new double[rows][4];
            for (double[] row : lps) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = Math.log(0.3 + 0.6 * rng.nextDouble());
                }
            }
            var prediction = p.predict(Candidates.of(ids, lps, new int[rows]));
            int[] verified = new int[rows];
            int[] accepted = new int[rows];
            for (int i = 0; i < rows; i++) {
                double rate = ids[i].hashCode() % 2 == 0 ? 0.9 : 0.2;
                verified[i] = 4;
                while (accepted[i] < 4 && rng.nextDouble() < rate) {
                    accepted[i]++;
                }
            }
            p.observe(prediction, verified, accepted);
        }
        CalibrationReport r = p.report();
        assertThat(r.raw().auc()).isBetween(0.45, 0.55);
        assertThat(r.predicted().auc()).isGreaterThan(0.80);
        assertThat(r.predicted().ece()).isLessThan(0.05);
        assertThat(r.predicted().brier()).isLessThan(r.raw().brier());
        assertThat(r.byPosition()).hasSize(AcceptancePredictor.POSITIONS);
        assertThat(r.byPosition().get(0).observations()).isEqualTo(400L * rows);
        // Planning: a request seen accepting everything is planned above one rejecting everything.
        assertThat(p.planningRate(ids[0], 0, 0)).isBetween(0.0, 0.99);
    }

    /**
     * Greedy drafts of equal probability, accepted when the draft was sure of its choice (a wide
     * lead over the runner-up) and mostly rejected when it was torn: only the margin tells them
     * apart, and the predictor must learn to (without it, every estimate is alike).
     */
    @Test
    void learnsFromTheDraftsLeadOverTheRunnerUp() {
        for (boolean withMargins : new boolean[] {true, false}) {
            AcceptancePredictor p = new AcceptancePredictor(0.6);
            Random rng = new Random(11);
            int rows = 16;
            for (int round = 0; round < 300; round++) {
                String[] ids = new String[rows];
                double[][] lps = new double[rows][1];
                double[][] margins = new double[rows][1];
                boolean[] sure = new boolean[rows];
                for (int i = 0; i < rows; i++) {
                    ids[i] = "r" + round + "-" + i;
                    lps[i][0] = Math.log(0.6);
                    sure[i] = rng.nextBoolean();
                    // 0.6 against 0.05 or against 0.35
                    margins[i][0] = sure[i] ? Math.log(12) : Math.log(0.6 / 0.35);
                }
                Candidates c = Candidates.of(ids, lps, new int[rows]);
                if (withMargins) {
                    c =
                            new Candidates(
                                    c.ids(),
                                    c.tokens(),
                                    lps,
                                    c.distributions(),
                                    c.groups(),
                                    c.weights(),
                                    margins);
                }
                var prediction = p.predict(c);
                int[] accepted = new int[rows];
                for (int i = 0; i < rows; i++) {
                    accepted[i] = rng.nextDouble() < (sure[i] ? 0.9 : 0.3) ? 1 : 0;
                }
                int[] verified = new int[rows];
                java.util.Arrays.fill(verified, 1);
                p.observe(prediction, verified, accepted);
            }
            double auc = p.report().predicted().auc();
            if (withMargins) {
                assertThat(auc).as("with margins").isGreaterThan(0.75);
            } else {
                assertThat(auc).as("without margins").isBetween(0.4, 0.6);
            }
        }
    }

    /**
     * Drafts alike in every way the draft can tell, mostly overruled after one token (a space, on a
     * byte-level pair) and mostly accepted after others: only the token before the draft tells them
     * apart, which for a first draft is the request's last committed token.
     */
    @Test
    void learnsFromTheTokenBeforeTheDraft() {
        for (boolean withLastTokens : new boolean[] {true, false}) {
            AcceptancePredictor p = new AcceptancePredictor(0.6);
            Random rng = new Random(13);
            int rows = 16;
            for (int round = 0; round < 300; round++) {
                String[] ids = new String[rows];
                double[][] lps = new double[rows][1];
                int[][] tokens = new int[rows][1];
                int[] last = new int[rows];
                for (int i = 0; i < rows; i++) {
                    ids[i] = "r" + round + "-" + i;
                    lps[i][0] = Math.log(0.6);
                    tokens[i][0] = 97 + rng.nextInt(26);
                    last[i] = rng.nextBoolean() ? ' ' : 97 + rng.nextInt(26);
                }
                Candidates anonymous = Candidates.of(ids, lps, new int[rows]);
                Candidates c =
                        new Candidates(
                                ids,
                                tokens,
                                lps,
                                anonymous.distributions(),
                                anonymous.groups(),
                                anonymous.weights(),
                                new double[rows][],
                                withLastTokens ? last : new int[rows]);
                var prediction = p.predict(c);
                int[] accepted = new int[rows];
                for (int i = 0; i < rows; i++) {
                    accepted[i] = rng.nextDouble() < (last[i] == ' ' ? 0.25 : 0.85) ? 1 : 0;
                }
                int[] verified = new int[rows];
                java.util.Arrays.fill(verified, 1);
                p.observe(prediction, verified, accepted);
            }
            double auc = p.report().predicted().auc();
            if (withLastTokens) {
                assertThat(auc).as("with the token before").isGreaterThan(0.75);
            } else {
                assertThat(auc).as("without it").isBetween(0.4, 0.6);
            }
        }
    }

    @Test
    void aRequestsOwnHistoryMovesItsPlanningRate() {
        AcceptancePredictor p = new AcceptancePredictor(0.5);
        String[] ids = {"easy", "hard"};
        for (int round = 0; round < 30; round++) {
            double[][] lps = {{-0.5, -0.5}, {-0.5, -0.5}};
            var prediction = p.predict(Candidates.of(ids, lps, new int[2]));
            p.observe(prediction, new int[] {2, 2}, new int[] {2, 0});
        }
        double easy = p.planningRate("easy", 0, 0);
        double hard = p.planningRate("hard", 0, 0);
        double unknown = p.planningRate("unknown", 0, 0);
        // Half the first drafts were accepted; the easy request expects more, the hard one less.
        assertThat(unknown).isCloseTo(0.5, org.assertj.core.data.Offset.offset(0.1));
        assertThat(easy).isGreaterThan(unknown + 0.1);
        assertThat(hard).isLessThan(unknown - 0.1);
    }

    private static double[] ones(int n) {
        double[] w = new double[n];
        java.util.Arrays.fill(w, 1);
        return w;
    }
}
