package io.tetris.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.core.CounterRng.Purpose;
import java.util.HashSet;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.junit.jupiter.api.Test;

/** Tests for {@link CounterRng}. */
class CounterRngTest {

    @Test
    void philoxMatchesTheRandom123KnownAnswers() {
        assertThat(CounterRng.philox(0, 0, 0, 0, 0L))
                .containsExactly(0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
        assertThat(CounterRng.philox(-1, -1, -1, -1, -1L))
                .containsExactly(0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
        long piKey = (0x299f31d0L << 32) | 0xa4093822L;
        assertThat(CounterRng.philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, piKey))
                .containsExactly(0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1);
    }

    @Test
    void drawsArePureFunctionsOfTheirCoordinates() {
        double a = CounterRng.uniform(42, 1000, Purpose.VERIFY);
        assertThat(CounterRng.uniform(42, 1000, Purpose.VERIFY)).isEqualTo(a);
        Set<Double> distinct = new HashSet<>();
        distinct.add(a);
        distinct.add(CounterRng.uniform(43, 1000, Purpose.VERIFY));
        distinct.add(CounterRng.uniform(42, 1001, Purpose.VERIFY));
        distinct.add(CounterRng.uniform(42, 1000, Purpose.DRAFT));
        distinct.add(CounterRng.uniform(42, 1000, Purpose.VERIFY, 1));
        assertThat(distinct).hasSize(5);
    }

    @Test
    void streamsReplayFromAnyStartPosition() {
        DoubleSupplier fromStart = CounterRng.stream(7, 10, Purpose.VERIFY);
        fromStart.getAsDouble();
        fromStart.getAsDouble();
        double third = fromStart.getAsDouble();
        assertThat(CounterRng.stream(7, 12, Purpose.VERIFY).getAsDouble()).isEqualTo(third);
        assertThat(third).isEqualTo(CounterRng.uniform(7, 12, Purpose.VERIFY));
    }

    @Test
    void drawsAreUniformOverConsecutivePositions() {
        int bins = 64;
        int n = 200_000;
        long[] counts = new long[bins];
        double[] expected = new double[bins];
        for (int i = 0; i < n; i++) {
            double u = CounterRng.uniform(123, i, Purpose.DRAFT);
            assertThat(u).isGreaterThanOrEqualTo(0.0).isLessThan(1.0);
            counts[(int) (u * bins)]++;
        }
        java.util.Arrays.fill(expected, (double) n / bins);
        assertThat(new ChiSquareTest().chiSquareTest(expected, counts)).isGreaterThan(1e-3);
    }

    @Test
    void neighbouringDrawsAreUncorrelated() {
        int n = 100_000;
        double sxy = 0;
        double sx = 0;
        double sxx = 0;
        double previous = CounterRng.uniform(5, 0, Purpose.VERIFY);
        for (int i = 1; i <= n; i++) {
            double u = CounterRng.uniform(5, i, Purpose.VERIFY);
            sxy += previous * u;
            sx += u;
            sxx += u * u;
            previous = u;
        }
        double mean = sx / n;
        double correlation = (sxy / n - mean * mean) / (sxx / n - mean * mean);
        assertThat(Math.abs(correlation)).isLessThan(0.02);
    }
}
