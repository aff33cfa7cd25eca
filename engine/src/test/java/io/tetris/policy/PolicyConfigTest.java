package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.policy.PolicyConfig.Kind;
import org.junit.jupiter.api.Test;

/** Tests for {@link PolicyConfig} and {@link LinearStepCostModel}. */
class PolicyConfigTest {

    @Test
    void createsEachPolicyByName() {
        PolicyConfig config = PolicyConfig.defaults();
        for (String name : new String[] {"none", "fixed", "dsd", "tetris", "tetris-adaptive"}) {
            BudgetPolicy policy =
                    config.withPolicy(Kind.parse(name)).create(LinearStepCostModel.DEFAULT);
            assertThat(policy.name()).isEqualTo(name);
        }
    }

    @Test
    void unknownPolicyNamesListTheValidOnes() {
        assertThatThrownBy(() -> Kind.parse("tetrys"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tetrys")
                .hasMessageContaining("[none, fixed, dsd, tetris, tetris-adaptive]");
    }

    @Test
    void rejectsOutOfRangeSettingsWithTheSettingsName() {
        PolicyConfig d = PolicyConfig.defaults();
        assertThatThrownBy(() -> d.withWindow(0, 1)).hasMessageContaining("k must be");
        assertThatThrownBy(() -> d.withWindow(4, -1)).hasMessageContaining("extra must be");
        assertThatThrownBy(
                        () ->
                                new PolicyConfig(
                                        Kind.DSD,
                                        4,
                                        1,
                                        2,
                                        6,
                                        1.5,
                                        0.15,
                                        1.1,
                                        1,
                                        PolicyConfig.Ranking.PREDICTED))
                .hasMessageContaining("dsd initial acceptance");
    }

    @Test
    void linearCostModelAddsDraftStepsAndOneVerification() {
        LinearStepCostModel model = new LinearStepCostModel(1, 2, 0.5, 10, 3, 0.25);
        assertThat(model.draftStepSeconds(2, 4)).isEqualTo(1 + 2 * (2 + 4 * 0.5));
        assertThat(model.verifySeconds(2, 3, 4)).isEqualTo(10 + 2 * (3 * 3 + 4 * 0.25));
        assertThat(model.roundSeconds(2, 3, 2, 4))
                .isEqualTo(3 * model.draftStepSeconds(2, 4) + model.verifySeconds(2, 3, 4));
        assertThatThrownBy(() -> new LinearStepCostModel(-1, 0, 0, 1, 0, 0))
                .hasMessageContaining("coefficients");
    }
}
