package io.tetris.measure;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MedianTest {

    @Test
    void middleValueOfUnsortedInputLeftAsItWas() {
        double[] odd = {5, 1, 3};
        assertThat(Median.of(odd)).isEqualTo(3);
        assertThat(odd).containsExactly(5, 1, 3);
        assertThat(Median.of(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(Median.of(new double[0])).isNaN();
    }
}
