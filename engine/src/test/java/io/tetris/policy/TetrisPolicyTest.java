package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Tests for {@link TetrisPolicy}. */
class TetrisPolicyTest {

    private final BudgetPolicy policy = new TetrisPolicy(2, 2, 2);

    @Test
    void draftsExtraTokensAndSpendsKTimesBatchOnTheMostLikely() {
        RoundShape shape = new RoundShape(3, 20);
        assertThat(Policies.draftLength(policy, shape)).isEqualTo(4);
        double[][] logProbs = {
            {-0.01, -0.01, -0.01, -0.01}, // confident: gets the extra slots
            {-3.0, -0.01, -0.01, -0.01}, // weak first token: gets nothing
            {-0.1, -2.0, -0.01, -0.01},
        };
        Allocation allocation = Policies.allocate(policy, logProbs, new double[] {1, 1, 1}, shape);
        assertThat(allocation.budget()).isEqualTo(6);
        assertThat(allocation.verify()).containsExactly(4, 0, 2);
        assertThat(allocation.verified()).isEqualTo(6);
    }

    @Test
    void priorityWeightsWinBudget() {
        RoundShape shape = new RoundShape(2, 20);
        double[][] logProbs = {{-0.5, -0.5, -0.5, -0.5}, {-1.5, -1.5, -1.5, -1.5}};
        assertThat(Policies.allocate(policy, logProbs, new double[] {1, 1}, shape).verify())
                .containsExactly(3, 1);
        // Weight 10 lifts row 1 to 2.23, 0.50, ...: it now takes two of the four slots.
        assertThat(Policies.allocate(policy, logProbs, new double[] {1, 10}, shape).verify())
                .containsExactly(2, 2);
    }

    @Test
    void fallsBackToFixedBelowTheMinimumBatch() {
        RoundShape single = new RoundShape(1, 20);
        assertThat(Policies.draftLength(policy, single)).isEqualTo(2);
        Allocation allocation =
                Policies.allocate(policy, new double[][] {{-5.0, -5.0}}, new double[] {1}, single);
        assertThat(allocation.verify()).containsExactly(2);
        assertThat(allocation.budget()).isEqualTo(2);
    }
}
