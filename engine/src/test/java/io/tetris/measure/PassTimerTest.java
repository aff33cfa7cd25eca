package io.tetris.measure;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PassTimerTest {

    @Test
    void theRaggedShapeSpendsTheFixedBudgetUnevenly() {
        for (int batch : new int[] {1, 2, 4, 8, 32}) {
            for (int k = 1; k <= 4; k++) {
                List<PassTimer.Shape> shapes = PassTimer.shapes(batch, k);
                assertThat(shapes).hasSize(4);
                PassTimer.Shape fixed = shapes.get(1);
                PassTimer.Shape ragged = shapes.get(2);
                assertThat(shapes.get(0).tokens()).isEqualTo(batch);
                assertThat(ragged.tokens()).isEqualTo(fixed.tokens()).isEqualTo(batch * (k + 1));
                assertThat(Arrays.stream(ragged.drafts()).min().orElseThrow()).isNotNegative();
                if (batch > 1) {
                    // Same tokens, but a padding runner computes every row as the longest.
                    assertThat(ragged.paddedTokens()).isGreaterThan(fixed.paddedTokens());
                    assertThat(shapes.get(3).paddedTokens()).isGreaterThan(shapes.get(3).tokens());
                }
            }
        }
    }
}
