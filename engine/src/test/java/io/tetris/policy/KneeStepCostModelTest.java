package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class KneeStepCostModelTest {

    private final KneeStepCostModel model = new KneeStepCostModel(1e-3, 64, 10e-3, 256, 1e-5, 0);

    @Test
    void verificationIsFlatUpToTheKneeThenLinear() {
        assertThat(model.verifySeconds(64, 4.0, 0)).isCloseTo(10e-3, within(1e-12));
        assertThat(model.verifySeconds(64, 8.0, 0))
                .isCloseTo(10e-3 + (512 - 256) * 1e-5, within(1e-12));
    }

    @Test
    void raggedVerificationPaysForTokensNotPadding() {
        // 64 sequences, 300 draft tokens, longest row 9: 364 query tokens, not 64 x 10.
        assertThat(model.verifySeconds(64, 300, 9, 0))
                .isCloseTo(10e-3 + (364 - 256) * 1e-5, within(1e-12));
        // The linear model, our runner's (it skips the padding), charges the tokens too.
        LinearStepCostModel linear = new LinearStepCostModel(0, 0, 0, 1e-3, 1e-5, 0);
        assertThat(linear.verifySeconds(64, 300, 9, 0)).isCloseTo(1e-3 + 364 * 1e-5, within(1e-12));
    }

    @Test
    void draftStepsAreFlatToTheirKnee() {
        assertThat(model.draftStepSeconds(64, 0)).isCloseTo(1e-3, within(1e-12));
        assertThat(model.draftStepSeconds(128, 0)).isGreaterThan(1e-3);
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new KneeStepCostModel(1e-3, 0, 1e-2, 1, 0, 0))
                .hasMessageContaining("knees");
        assertThatThrownBy(() -> new KneeStepCostModel(1e-3, 1, 0, 1, 0, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
