package io.tetris.core;

import java.util.function.DoubleSupplier;

/**
 * Counter-based random numbers: every draw is a pure function of (seed, absolute token position,
 * purpose, draw index), computed with Philox-4x32-10 (Salmon et al., SC'11; the generator behind
 * cuRAND, PyTorch and JAX). Nothing is stored between draws, so a sequence restored from a
 * checkpoint replays exactly the same randomness without checkpointing any generator state.
 */
public final class CounterRng {

    /** What a draw is used for; separate purposes never share a counter. */
    public enum Purpose {
        /** Sampling a draft token. */
        DRAFT,
        /** Verification draws (acceptance tests and the recovered/bonus sample). */
        VERIFY,
        /** Per-token exponential noise of coupled sampling. */
        COUPLED
    }

    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final double TWO_POW_MINUS_53 = 0x1.0p-53;

    private CounterRng() {}

    /** A uniform double in {@code [0, 1)} for (seed, position, purpose). */
    public static double uniform(long seed, long position, Purpose purpose) {
        return uniform(seed, position, purpose, 0);
    }

    /** A uniform double in {@code [0, 1)}; {@code draw} tells apart several draws at a position. */
    public static double uniform(long seed, long position, Purpose purpose, int draw) {
        int[] out = philox((int) position, (int) (position >>> 32), purpose.ordinal(), draw, seed);
        long bits = ((long) (out[0] >>> 5) << 26) | (out[1] >>> 6);
        return bits * TWO_POW_MINUS_53;
    }

    /**
     * A stream whose {@code d}-th value is {@code uniform(seed, startPosition + d, purpose)}: the
     * {@code d}-th draw of a verification round that starts at {@code startPosition}.
     */
    public static DoubleSupplier stream(long seed, long startPosition, Purpose purpose) {
        return new DoubleSupplier() {
            private long next = startPosition;

            @Override
            public double getAsDouble() {
                return uniform(seed, next++, purpose);
            }
        };
    }

    /**
     * Fills {@code out} with independent Exp(1) variates for every token of the vocabulary at
     * (seed, position): token {@code v} takes word {@code v % 4} of Philox block {@code v / 4}. The
     * same arrays come out for the draft and the target, which is what couples them.
     *
     * @param out {@code [vocab]}
     */
    public static void exponentials(long seed, long position, double[] out) {
        uniforms(seed, position, out);
        for (int v = 0; v < out.length; v++) {
            out[v] = -Math.log(out[v]);
        }
    }

    /**
     * The uniforms behind {@link #exponentials}: {@code out[v]} in {@code (0, 1)}, and {@code
     * exponentials} is {@code -log} of each.
     *
     * @param out {@code [vocab]}
     */
    public static void uniforms(long seed, long position, double[] out) {
        int purpose = Purpose.COUPLED.ordinal();
        for (int block = 0; block * 4 < out.length; block++) {
            int[] words = philox((int) position, (int) (position >>> 32), purpose, block, seed);
            for (int w = 0; w < 4 && block * 4 + w < out.length; w++) {
                // (word + 0.5) / 2^32 lies strictly inside (0, 1): the log is always finite.
                out[block * 4 + w] = ((words[w] & 0xFFFFFFFFL) + 0.5) * 0x1.0p-32;
            }
        }
    }

    /** Philox-4x32 with 10 rounds; returns the four output words. */
    static int[] philox(int c0, int c1, int c2, int c3, long seed) {
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
            k0 += W0;
            k1 += W1;
        }
        return new int[] {c0, c1, c2, c3};
    }
}
