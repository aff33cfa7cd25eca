package io.tetris.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.junit.jupiter.api.Test;

/**
 * Tests for {@link CoupledSampling}: lossless (chi-square on the first two tokens), and the output
 * is the same whatever window was drafted and verified.
 */
class CoupledSamplingTest {

    private static final int V = 4;
    private static final int TRIALS = 100_000;

    /** Bigram target and draft: row 0 is the first position, row 1 + a follows token a. */
    private static final float[][] P = {
        {0.1f, 0.2f, 0.3f, 0.4f},
        {0.7f, 0.1f, 0.1f, 0.1f},
        {0.25f, 0.25f, 0.25f, 0.25f},
        {0.05f, 0.05f, 0.45f, 0.45f},
        {0.4f, 0.3f, 0.2f, 0.1f}
    };

    private static final float[][] Q = {
        {0.4f, 0.3f, 0.2f, 0.1f},
        {0.1f, 0.7f, 0.1f, 0.1f},
        {0f, 0f, 0.5f, 0.5f},
        {0.25f, 0.25f, 0.25f, 0.25f},
        {0.4f, 0.3f, 0.2f, 0.1f}
    };

    @Test
    void firstTwoTokensFollowTheTargetForEveryWindow() {
        for (int k : new int[] {0, 1, 2, 3}) {
            long[] observed = new long[V * V];
            for (int trial = 0; trial < TRIALS; trial++) {
                int[] tokens = generate(2, k, 1_000_003L * k + trial);
                observed[tokens[0] * V + tokens[1]]++;
            }
            double[] expected = new double[V * V];
            for (int a = 0; a < V; a++) {
                for (int b = 0; b < V; b++) {
                    expected[a * V + b] = (double) P[0][a] * P[1 + a][b] * TRIALS;
                }
            }
            double pValue = new ChiSquareTest().chiSquareTest(expected, observed);
            assertThat(pValue).as("k=%d", k).isGreaterThan(1e-3);
        }
    }

    @Test
    void theOutputDoesNotDependOnTheWindow() {
        for (long seed = 0; seed < 200; seed++) {
            int[] plain = generate(12, 0, seed);
            for (int k = 1; k <= 5; k++) {
                assertThat(generate(12, k, seed))
                        .as("seed %d, k=%d", seed, k)
                        .containsExactly(plain);
            }
        }
    }

    @Test
    void aDraftEqualToTheTargetIsAlwaysAccepted() {
        float[][] rows = {P[1], P[1], P[1], P[1]};
        for (long seed = 0; seed < 100; seed++) {
            int[] drafts = new int[3];
            for (int j = 0; j < 3; j++) {
                drafts[j] = CoupledSampling.sample(P[1], seed, 10 + j);
            }
            assertThat(CoupledSampling.verify(rows, drafts, seed, 10))
                    .hasSize(4)
                    .startsWith(drafts);
        }
    }

    @Test
    void theBoundedRaceIsExactlyTheFullRace() {
        // Peaked, flat, sparse (zeros) and tied distributions over a byte-sized vocabulary.
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        int differentFromArgmax = 0;
        for (int c = 0; c < 4000; c++) {
            float[] probs = new float[257];
            int kind = c % 4;
            for (int v = 0; v < probs.length; v++) {
                double x = random.nextDouble();
                probs[v] =
                        switch (kind) {
                            case 0 -> (float) Math.exp(12 * x); // peaked
                            case 1 -> (float) (1 + 0.01 * x); // nearly flat
                            case 2 -> x < 0.9 ? 0f : (float) x; // sparse
                            default -> v % 3 == 0 ? 0.5f : 0.25f; // many exact ties
                        };
            }
            double sum = 0;
            for (float p : probs) {
                sum += p;
            }
            for (int v = 0; v < probs.length; v++) {
                probs[v] = (float) (probs[v] / sum);
            }
            long seed = random.nextLong();
            long position = random.nextInt(1 << 20);
            double[] noise = new double[probs.length];
            CounterRng.exponentials(seed, position, noise);
            int expected = CoupledSampling.race(probs, noise);
            int actual = CoupledSampling.sample(probs, seed, position);
            assertThat(actual).as("case %d", c).isEqualTo(expected);
            CoupledSampling.Draw draw = CoupledSampling.draw(probs, seed, position);
            assertThat(draw.token()).as("draw, case %d", c).isEqualTo(expected);
            assertThat(draw.margin())
                    .as("margin, case %d", c)
                    .isCloseTo(raceMargin(probs, noise, expected), within(1e-9));
            int likeliest = 0;
            for (int v = 1; v < probs.length; v++) {
                likeliest = probs[v] > probs[likeliest] ? v : likeliest;
            }
            differentFromArgmax += actual != likeliest ? 1 : 0;
        }
        // The cases exercise the race, not just its starting point.
        assertThat(differentFromArgmax).isGreaterThan(2000);
    }

    /**
     * Why the drafter reports the race margin on sampled rows: under shared noise, the target
     * overrules a draw that won its race narrowly far more often than one that won clearly.
     */
    @Test
    void aNarrowWinIsOverruledMoreOften() {
        int[] accepted = new int[2]; // [narrow, clear]
        int[] drawn = new int[2];
        for (int position = 0; position < TRIALS; position++) {
            int row = position % P.length;
            CoupledSampling.Draw draw = CoupledSampling.draw(Q[row], 17, position);
            int clear = draw.margin() > 1 ? 1 : 0;
            drawn[clear]++;
            if (CoupledSampling.sample(P[row], 17, position) == draw.token()) {
                accepted[clear]++;
            }
        }
        double narrow = (double) accepted[0] / drawn[0];
        double clear = (double) accepted[1] / drawn[1];
        assertThat(clear).isGreaterThan(narrow + 0.1);
    }

    /** log of the runner-up's race time over the winner's, by brute force. */
    private static double raceMargin(float[] probs, double[] noise, int winner) {
        double second = Double.POSITIVE_INFINITY;
        for (int v = 0; v < probs.length; v++) {
            if (v != winner && probs[v] > 0) {
                second = Math.min(second, noise[v] / probs[v]);
            }
        }
        return Double.isInfinite(second)
                ? CoupledSampling.MAX_MARGIN
                : Math.min(
                        CoupledSampling.MAX_MARGIN,
                        Math.log(second / (noise[winner] / probs[winner])));
    }

    @Test
    void noiseIsAPureFunctionOfSeedAndPosition() {
        double[] a = new double[257];
        double[] b = new double[257];
        CounterRng.exponentials(9, 40, a);
        CounterRng.exponentials(9, 40, b);
        assertThat(a).containsExactly(b);
        CounterRng.exponentials(9, 41, b);
        assertThat(a).isNotEqualTo(b);
        double mean = Arrays.stream(a).average().orElseThrow();
        assertThat(mean).isBetween(0.8, 1.2);
        assertThat(Arrays.stream(a).min().orElseThrow()).isPositive();
    }

    /**
     * Generates {@code n} tokens in rounds of up to {@code k} coupled drafts, as the engine does.
     */
    private static int[] generate(int n, int k, long seed) {
        List<Integer> out = new ArrayList<>();
        while (out.size() < n) {
            int start = out.size();
            int[] drafts = new int[k];
            float[][] targetRows = new float[k + 1][];
            int previous = start == 0 ? -1 : out.get(start - 1);
            for (int j = 0; j <= k; j++) {
                targetRows[j] = row(P, previous);
                if (j == k) {
                    break;
                }
                drafts[j] = CoupledSampling.sample(row(Q, previous), seed, start + j);
                previous = drafts[j];
            }
            for (int token : CoupledSampling.verify(targetRows, drafts, seed, start)) {
                if (out.size() < n) {
                    out.add(token);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float[] row(float[][] table, int previous) {
        return previous < 0 ? table[0] : table[1 + previous];
    }
}
