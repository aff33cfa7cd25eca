package io.tetris.job.bench;

import java.util.SplittableRandom;

/** When an open-loop client sends each request: a Poisson process, seeded so runs repeat. */
public final class PoissonArrivals {

    private PoissonArrivals() {}

    /**
     * @param ratePerSecond mean arrivals per second, above 0
     * @param count arrivals
     * @return {@code [count]} nanoseconds from the start, non-decreasing, the first at 0
     */
    public static long[] offsetsNanos(double ratePerSecond, int count, long seed) {
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond) || count < 0) {
            throw new IllegalArgumentException(
                    "Poisson arrivals need a rate above 0 and a count of at least 0, got "
                            + ratePerSecond
                            + " and "
                            + count);
        }
        SplittableRandom random = new SplittableRandom(seed);
        long[] offsets = new long[count];
        double t = 0;
        for (int i = 1; i < count; i++) {
            // Exponential gaps: -ln(U) / rate, U in (0, 1].
            t += -Math.log(1 - random.nextDouble()) / ratePerSecond;
            offsets[i] = Math.round(t * 1e9);
        }
        return offsets;
    }
}
