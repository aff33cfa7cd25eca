package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Tests for {@link FixedPolicy}. */
class FixedPolicyTest {

    @Test
    void draftsAndVerifiesTheWholeWindowWhateverTheConfidence() {
        BudgetPolicy policy = new FixedPolicy(3);
        RoundShape shape = new RoundShape(2, 5);
        assertThat(Policies.draftLength(policy, shape)).isEqualTo(3);
        double[][] logProbs = {{-0.01, -0.01, -0.01}, {-9, -9, -9}};
        Allocation allocation = Policies.allocate(policy, logProbs, new double[] {1, 1}, shape);
        assertThat(allocation.verify()).containsExactly(3, 3);
        assertThat(allocation.budget()).isEqualTo(6);
    }

    @Test
    void verifiesNoMoreThanWasDrafted() {
        Allocation allocation =
                Policies.allocate(
                        new FixedPolicy(4),
                        new double[][] {{-1, -1}, {}},
                        new double[] {1, 1},
                        new RoundShape(2, 0));
        assertThat(allocation.verify()).containsExactly(2, 0);
    }

    @Test
    void needsAPositiveWindow() {
        assertThatThrownBy(() -> new FixedPolicy(0)).hasMessageContaining("k >= 1");
    }
}
