package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class CandidatesTest {

    @Test
    void entropyComesFromTheDistributionAndIsNaNWithoutOne() {
        float[][][] distributions = {
            {{0.25f, 0.25f, 0.25f, 0.25f}, {1f, 0f, 0f, 0f}}, // sampled row
            {null}, // a greedy row: logits reduced inside the model
            null
        };
        Candidates c =
                new Candidates(
                        new String[] {"a", "b", "c"},
                        new int[][] {{0, 1}, {2}, {}},
                        new double[][] {{-1.4, 0}, {-0.1}, {}},
                        distributions,
                        new int[] {1, 0, 0},
                        new double[] {1, 1, 1});
        assertThat(c.entropy(0, 0)).isCloseTo(Math.log(4), within(1e-6));
        assertThat(c.entropy(0, 1)).isZero();
        assertThat(c.entropy(1, 0)).isNaN();
        assertThat(c.entropy(2, 0)).isNaN();
    }
}
