package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Tests for {@link DsdPolicy}. */
class DsdPolicyTest {

    /** Drafting is cheap next to verification: the regime where speculation pays. */
    private static final StepCostModel CHEAP_DRAFT =
            new LinearStepCostModel(1e-4, 1e-5, 0, 2e-3, 5e-5, 0);

    private static final RoundShape SHAPE = new RoundShape(8, 100);

    @Test
    void picksNoSpeculationWhenAcceptanceIsLow() {
        DsdPolicy policy = new DsdPolicy(6, CHEAP_DRAFT, 0.05, 0.15, 1.1, 1);
        assertThat(policy.draftLength(SHAPE)).isZero();
        assertThat(Policies.allocate(policy, new double[8][0], ones(8), SHAPE).verify())
                .containsOnly(0);
    }

    @Test
    void picksALargeWindowWhenAcceptanceIsHigh() {
        DsdPolicy policy = new DsdPolicy(6, CHEAP_DRAFT, 0.95, 0.15, 1.1, 1);
        assertThat(policy.draftLength(SHAPE)).isEqualTo(6);
    }

    @Test
    void picksAMiddleWindowWhenDraftingCostsAsMuchAsItSaves() {
        StepCostModel costly = new LinearStepCostModel(2.5e-4, 0, 0, 1e-3, 0, 0);
        DsdPolicy policy = new DsdPolicy(6, costly, 0.7, 0.15, 1.1, 1);
        int k = policy.draftLength(SHAPE);
        // goodput(k) = (1 - 0.7^(k+1)) / 0.3 / (0.25k + 1) ms: 1.1, 1.36, 1.46, 1.45, ...
        assertThat(k).isEqualTo(2);
        for (int other = 0; other <= 6; other++) {
            assertThat(policy.goodput(k, SHAPE))
                    .isGreaterThanOrEqualTo(policy.goodput(other, SHAPE));
        }
    }

    @Test
    void learnsAcceptanceFromFeedbackAndAdaptsTheWindow() {
        DsdPolicy policy = new DsdPolicy(6, CHEAP_DRAFT, 0.9, 0.5, 1.1, 1);
        int high = policy.draftLength(SHAPE);
        for (int round = 0; round < 20; round++) {
            policy.learn(RoundOutcome.of(new int[] {4, 4}, new int[] {0, 0}));
        }
        assertThat(policy.acceptanceEstimate()).isCloseTo(0.0, within(1e-5));
        int low = policy.draftLength(SHAPE);
        assertThat(high).isEqualTo(6);
        assertThat(low).isZero();
    }

    @Test
    void movingAverageWeighsTheNewestRoundBySmoothing() {
        DsdPolicy policy = new DsdPolicy(6, CHEAP_DRAFT, 0.7, 0.15, 1.1, 1);
        policy.learn(RoundOutcome.of(new int[] {4, 0}, new int[] {1, 0}));
        assertThat(policy.acceptanceEstimate()).isCloseTo(0.85 * 0.7 + 0.15 * 0.25, within(1e-12));
        policy.learn(
                RoundOutcome.of(new int[] {0}, new int[] {0})); // nothing verified: no information
        assertThat(policy.acceptanceEstimate()).isCloseTo(0.85 * 0.7 + 0.15 * 0.25, within(1e-12));
    }

    @Test
    void keepsItsWindowBetweenUpdates() {
        DsdPolicy policy = new DsdPolicy(6, CHEAP_DRAFT, 0.95, 1.0, 1.1, 3);
        assertThat(policy.draftLength(SHAPE)).isEqualTo(6);
        policy.learn(RoundOutcome.of(new int[] {6}, new int[] {0}));
        assertThat(policy.draftLength(SHAPE)).isEqualTo(6);
        assertThat(policy.draftLength(SHAPE)).isEqualTo(6);
        assertThat(policy.draftLength(SHAPE)).isZero(); // third round after the plan: re-plan
    }

    @Test
    void verifiesTheChosenWindowForEverySequence() {
        DsdPolicy policy = new DsdPolicy(6, CHEAP_DRAFT, 0.95, 0.15, 1.1, 1);
        int k = policy.draftLength(new RoundShape(2, 0));
        double[][] logProbs = {new double[k], new double[k]};
        Allocation allocation = Policies.allocate(policy, logProbs, ones(2), new RoundShape(2, 0));
        assertThat(allocation.verify()).containsExactly(k, k);
        assertThat(allocation.budget()).isEqualTo(2 * k);
    }

    private static double[] ones(int n) {
        double[] w = new double[n];
        java.util.Arrays.fill(w, 1);
        return w;
    }
}
