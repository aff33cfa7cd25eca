package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Tests for {@link NonePolicy}. */
class NonePolicyTest {

    @Test
    void neverDraftsNorVerifies() {
        BudgetPolicy policy = new NonePolicy();
        RoundShape shape = new RoundShape(3, 10);
        assertThat(Policies.draftLength(policy, shape)).isZero();
        Allocation allocation =
                Policies.allocate(
                        policy, new double[][] {{}, {}, {}}, new double[] {1, 1, 1}, shape);
        assertThat(allocation.verify()).containsExactly(0, 0, 0);
        assertThat(allocation.budget()).isZero();
    }
}
