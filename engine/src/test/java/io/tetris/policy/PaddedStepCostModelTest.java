package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PaddedStepCostModelTest {

    private static final LinearStepCostModel BASE =
            new LinearStepCostModel(1e-4, 1e-5, 0, 0.01, 0.001, 0);

    @Test
    void aRaggedPassPaysForItsPaddingAUniformOneDoesNot() {
        StepCostModel padded = PaddedStepCostModel.of(BASE, 2e-4);
        // Eight rows of two drafts: nothing padded.
        assertThat(padded.verifySeconds(8, 16, 2, 100))
                .isEqualTo(BASE.verifySeconds(8, 16, 2, 100));
        // The same sixteen drafts as one row of four and six of two, one of none: 8 x 4 - 16.
        assertThat(padded.verifySeconds(8, 16, 4, 100))
                .isCloseTo(BASE.verifySeconds(8, 16, 4, 100) + 16 * 2e-4, within(1e-15));
        assertThat(PaddedStepCostModel.paddedPositions(8, 16, 4)).isEqualTo(16);
        assertThat(padded.draftSeconds(8, 3, 100)).isEqualTo(BASE.draftSeconds(8, 3, 100));
    }

    @Test
    void freePaddingIsTheBaseModelItself() {
        assertThat(PaddedStepCostModel.of(BASE, 0)).isSameAs(BASE);
        assertThatThrownBy(() -> new PaddedStepCostModel(BASE, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padded position");
    }
}
