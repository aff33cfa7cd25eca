package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class OnlineCostModelTest {

    /** 1 ms per pass plus 0.1 ms per sequence-token: linear in tokens. */
    private static final LinearStepCostModel PRIOR =
            new LinearStepCostModel(0.5e-3, 0, 0, 1e-3, 1e-4, 0);

    /** The real cost: flat to 4 tokens per sequence, then twice as much (a tile boundary). */
    private static double staircase(int batch, int tokens) {
        return tokens <= 4 ? 2e-3 : 4e-3;
    }

    private static void observe(OnlineCostModel m, int batch, int tokens, double seconds) {
        m.observe(new RoundCost(batch, 50, 0, 0, 0, tokens, batch * (tokens - 1), seconds, 0));
    }

    @Test
    void withoutMeasurementsItIsThePrior() {
        OnlineCostModel m = new OnlineCostModel(PRIOR);
        assertThat(m.verifySeconds(8, 3, 50)).isEqualTo(PRIOR.verifySeconds(8, 3, 50));
        assertThat(m.draftStepSeconds(8, 50)).isEqualTo(PRIOR.draftStepSeconds(8, 50));
    }

    @Test
    void learnsAStaircaseTheLinearPriorCannotFollow() {
        OnlineCostModel m = new OnlineCostModel(PRIOR);
        for (int round = 0; round < 5; round++) {
            for (int t = 1; t <= 8; t++) {
                observe(m, 8, t, staircase(8, t));
            }
        }
        for (int t = 1; t <= 8; t++) {
            assertThat(m.verifySeconds(8, t, 50)).isCloseTo(staircase(8, t), within(1e-9));
        }
    }

    @Test
    void anUnmeasuredCellBorrowsFromAboveSoAStepIsNeverMissed() {
        OnlineCostModel m = new OnlineCostModel(PRIOR);
        observe(m, 8, 2, staircase(8, 2));
        observe(m, 8, 6, staircase(8, 6));
        // 5 tokens was never measured: it takes the ratio of 6 (above), not of 2.
        assertThat(m.verifySeconds(8, 5, 50)).isGreaterThanOrEqualTo(0.9 * staircase(8, 5));
    }

    @Test
    void predictionsNeverFallWithMoreTokens() {
        OnlineCostModel m = new OnlineCostModel(PRIOR);
        observe(m, 8, 3, 9e-3); // a slow outlier cell
        observe(m, 8, 4, 1e-3);
        double before = 0;
        for (int t = 1; t <= 10; t++) {
            double s = m.verifySeconds(8, t, 50);
            assertThat(s).isGreaterThanOrEqualTo(before);
            before = s;
        }
    }

    @Test
    void aMedianShrugsOffOutliers() {
        OnlineCostModel m = new OnlineCostModel(PRIOR);
        for (int round = 0; round < 10; round++) {
            observe(m, 8, 3, round % 5 == 0 ? 50e-3 : 3e-3);
        }
        assertThat(m.verifySeconds(8, 3, 50)).isCloseTo(3e-3, within(1e-9));
    }

    @Test
    void learnsDraftStepsPerBatchBucket() {
        OnlineCostModel m = new OnlineCostModel(PRIOR);
        m.observe(new RoundCost(32, 50, 32, 4, 4 * 2e-3, 1, 0, 0, 0));
        assertThat(m.draftStepSeconds(32, 50)).isCloseTo(2e-3, within(1e-9));
        // Another batch size borrows the nearest bucket's ratio.
        assertThat(m.draftStepSeconds(64, 50) / PRIOR.draftStepSeconds(64, 50))
                .isCloseTo(2e-3 / PRIOR.draftStepSeconds(32, 50), within(1e-9));
    }
}
