package io.tetris.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.junit.jupiter.api.Test;

/**
 * Tests for {@link SpeculativeSampling}: greedy verification on hand-made cases, and a statistical
 * proof of losslessness: the joint distribution of the first two emitted tokens must equal sampling
 * from the target alone.
 */
class SpeculativeSamplingTest {

    private static final int TRIALS = 100_000;

    /** With fixed seeds the outcome is deterministic; this only guards against real bias. */
    private static final double MIN_P_VALUE = 1e-3;

    // ----- greedy -----

    @Test
    void greedyAcceptsAllAndAddsTheBonusToken() {
        assertThat(SpeculativeSampling.verifyGreedy(new int[] {5, 6, 7, 8}, new int[] {5, 6, 7}))
                .containsExactly(5, 6, 7, 8);
    }

    @Test
    void greedyStopsAtTheFirstMismatchWithTheTargetsToken() {
        assertThat(SpeculativeSampling.verifyGreedy(new int[] {5, 9, 7, 8}, new int[] {5, 6, 7}))
                .containsExactly(5, 9);
        assertThat(SpeculativeSampling.verifyGreedy(new int[] {1, 6, 7}, new int[] {5, 6}))
                .containsExactly(1);
    }

    @Test
    void greedyWithoutDraftsEmitsTheTargetToken() {
        assertThat(SpeculativeSampling.verifyGreedy(new int[] {3}, new int[0])).containsExactly(3);
    }

    @Test
    void greedyRejectsMismatchedShapes() {
        assertThatThrownBy(() -> SpeculativeSampling.verifyGreedy(new int[] {1}, new int[] {1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("draftTokens.length + 1");
    }

    // ----- sampling: mechanics -----

    @Test
    void drawsOneUniformPerTestThenOneForTheFinalToken() {
        float[] p = {0.5f, 0.5f};
        float[] certainReject = {0f, 1f}; // target never emits token 1 from this row
        CountingUniforms all = new CountingUniforms(0.0);
        int[] out =
                SpeculativeSampling.verify(
                        new float[][] {p, p, p}, new float[][] {p, p}, new int[] {0, 1}, all);
        assertThat(out).hasSize(3);
        assertThat(all.count).isEqualTo(3); // K tests + bonus

        CountingUniforms rejected = new CountingUniforms(0.0);
        out =
                SpeculativeSampling.verify(
                        new float[][] {certainReject, p, p},
                        new float[][] {p, p},
                        new int[] {0, 1},
                        rejected);
        assertThat(out).containsExactly(1); // recovered from max(0, p - q) = {0, 0.5}
        assertThat(rejected.count).isEqualTo(2); // one test, one recovery draw
    }

    @Test
    void neverEmitsATokenTheTargetExcludes() {
        float[] target = {0f, 1f, 0f};
        float[] draft = {1f, 0f, 0f};
        SplittableRandom random = new SplittableRandom(7);
        for (int trial = 0; trial < 1000; trial++) {
            int[] out =
                    SpeculativeSampling.verify(
                            new float[][] {target, target},
                            new float[][] {draft},
                            new int[] {0},
                            random::nextDouble);
            assertThat(out).containsExactly(1);
        }
    }

    // ----- sampling: losslessness -----

    @Test
    void losslessForRandomDistributions() {
        SplittableRandom random = new SplittableRandom(11);
        assertLossless(Case.random(random, 5, false), 2, 101);
        assertLossless(Case.random(random, 4, false), 3, 102);
    }

    @Test
    void losslessWhenDraftEqualsTarget() {
        Case c = Case.random(new SplittableRandom(12), 5, true);
        assertLossless(c, 2, 103);
    }

    @Test
    void losslessWithDisjointSupports() {
        // Target lives on {0, 1}, the draft on {2, 3}: every draft is rejected.
        float[] p = {0.3f, 0.7f, 0f, 0f};
        float[] q = {0f, 0f, 0.6f, 0.4f};
        Case c = Case.stationary(p, q);
        assertLossless(c, 2, 104);
    }

    @Test
    void losslessWithOneHotDraft() {
        float[] p = {0.1f, 0.2f, 0.3f, 0.4f};
        float[] q = {0f, 0f, 1f, 0f};
        assertLossless(Case.stationary(p, q), 2, 105);
        assertLossless(Case.stationary(p, q), 1, 106);
    }

    @Test
    void losslessWithNearZeroProbabilities() {
        float[] p = {0.5f, 0.4999f, 1e-4f, 0f, 0f};
        float[] q = {1e-6f, 0.25f, 0.25f, 0.5f - 1e-6f, 0f};
        assertLossless(Case.stationary(normalise(p), normalise(q)), 2, 107);
        assertLossless(Case.stationary(normalise(q), normalise(p)), 2, 108);
    }

    @Test
    void theTestDetectsALossyVerifier() {
        // Sanity check of the statistics: always accepting the draft is not lossless.
        float[] p = {0.1f, 0.2f, 0.3f, 0.4f};
        float[] q = {0.4f, 0.3f, 0.2f, 0.1f};
        Case c = Case.stationary(p, q);
        double pValue = pValue(c, 2, 109, (target, draft, tokens, u) -> tokens.clone());
        assertThat(pValue).isLessThan(1e-9);
    }

    // ----- harness -----

    private static void assertLossless(Case c, int k, long seed) {
        double pValue = pValue(c, k, seed, SpeculativeSampling::verify);
        assertThat(pValue).as("chi-square p-value, k=%d", k).isGreaterThan(MIN_P_VALUE);
    }

    /**
     * Generates two tokens TRIALS times by speculative rounds (drafting {@code k} per round) and
     * returns the chi-square p-value of their joint histogram against {@code p0(a) p1(b | a)}.
     */
    private static double pValue(Case c, int k, long seed, Verifier verifier) {
        SplittableRandom random = new SplittableRandom(seed);
        int v = c.vocab();
        long[] observed = new long[v * v];
        for (int trial = 0; trial < TRIALS; trial++) {
            List<Integer> emitted = new ArrayList<>();
            while (emitted.size() < 2) {
                int[] context = emitted.stream().mapToInt(Integer::intValue).toArray();
                int[] drafts = new int[k];
                float[][] draftRows = new float[k][];
                float[][] targetRows = new float[k + 1][];
                int[] prefix = context;
                for (int j = 0; j <= k; j++) {
                    targetRows[j] = c.target(prefix);
                    if (j == k) {
                        break;
                    }
                    draftRows[j] = c.draft(prefix);
                    drafts[j] = SpeculativeSampling.sample(draftRows[j], random.nextDouble());
                    prefix = append(prefix, drafts[j]);
                }
                for (int token :
                        verifier.verify(targetRows, draftRows, drafts, random::nextDouble)) {
                    emitted.add(token);
                }
            }
            observed[emitted.get(0) * v + emitted.get(1)]++;
        }
        double[] expected = new double[v * v];
        for (int a = 0; a < v; a++) {
            float[] second = c.target(new int[] {a});
            for (int b = 0; b < v; b++) {
                expected[a * v + b] = (double) c.target(new int[0])[a] * second[b] * TRIALS;
            }
        }
        return chiSquarePooled(expected, observed);
    }

    /**
     * Chi-square p-value with cells of expected count below 5 pooled into one, as the test's
     * approximation requires; a zero-expectation cell with observations fails outright.
     */
    private static double chiSquarePooled(double[] expected, long[] observed) {
        List<Double> e = new ArrayList<>();
        List<Long> o = new ArrayList<>();
        double pooledExpected = 0;
        long pooledObserved = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == 0) {
                assertThat(observed[i]).as("observations in a zero-probability cell").isZero();
            } else if (expected[i] < 5) {
                pooledExpected += expected[i];
                pooledObserved += observed[i];
            } else {
                e.add(expected[i]);
                o.add(observed[i]);
            }
        }
        if (pooledExpected > 0) {
            e.add(pooledExpected);
            o.add(pooledObserved);
        }
        return new ChiSquareTest()
                .chiSquareTest(
                        e.stream().mapToDouble(Double::doubleValue).toArray(),
                        o.stream().mapToLong(Long::longValue).toArray());
    }

    private static int[] append(int[] prefix, int token) {
        int[] out = java.util.Arrays.copyOf(prefix, prefix.length + 1);
        out[prefix.length] = token;
        return out;
    }

    private static float[] normalise(float[] values) {
        double sum = 0;
        for (float x : values) {
            sum += x;
        }
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) (values[i] / sum);
        }
        return out;
    }

    @FunctionalInterface
    private interface Verifier {
        int[] verify(float[][] target, float[][] draft, int[] tokens, DoubleSupplier uniforms);
    }

    /** Target and draft distributions conditioned on the previous token (a bigram pair). */
    private record Case(
            float[] targetFirst, float[][] targetNext, float[] draftFirst, float[][] draftNext) {

        int vocab() {
            return targetFirst.length;
        }

        float[] target(int[] prefix) {
            return prefix.length == 0 ? targetFirst : targetNext[prefix[prefix.length - 1]];
        }

        float[] draft(int[] prefix) {
            return prefix.length == 0 ? draftFirst : draftNext[prefix[prefix.length - 1]];
        }

        static Case stationary(float[] p, float[] q) {
            float[][] pn = new float[p.length][];
            float[][] qn = new float[p.length][];
            for (int i = 0; i < p.length; i++) {
                pn[i] = p;
                qn[i] = q;
            }
            return new Case(p, pn, q, qn);
        }

        static Case random(SplittableRandom random, int vocab, boolean draftEqualsTarget) {
            float[] p0 = randomDistribution(random, vocab);
            float[][] pn = new float[vocab][];
            for (int i = 0; i < vocab; i++) {
                pn[i] = randomDistribution(random, vocab);
            }
            if (draftEqualsTarget) {
                return new Case(p0, pn, p0, pn);
            }
            float[][] qn = new float[vocab][];
            for (int i = 0; i < vocab; i++) {
                qn[i] = randomDistribution(random, vocab);
            }
            return new Case(p0, pn, randomDistribution(random, vocab), qn);
        }

        private static float[] randomDistribution(SplittableRandom random, int vocab) {
            float[] raw = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                raw[i] = (float) random.nextDouble(0.05, 1.0);
            }
            return normalise(raw);
        }
    }

    private static final class CountingUniforms implements DoubleSupplier {
        private final double value;
        private int count;

        CountingUniforms(double value) {
            this.value = value;
        }

        @Override
        public double getAsDouble() {
            count++;
            return value;
        }
    }
}
