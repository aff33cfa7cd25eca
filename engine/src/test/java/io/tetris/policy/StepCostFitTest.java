package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import io.tetris.policy.StepCostFit.Linear;
import io.tetris.policy.StepCostFit.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/** Tests for {@link StepCostFit}. */
class StepCostFitTest {

    private static final int[] BATCHES = {1, 2, 4, 8, 16, 32, 64};
    private static final int[] TOKENS = {1, 2, 4, 7};
    private static final int[] CONTEXTS = {32, 96, 192};

    /** Samples over the standard grid with seconds from {@code cost}, then {@code noise}. */
    private static List<Sample> grid(
            double fixed, double perToken, double perContext, DoubleUnaryOperator noise) {
        List<Sample> samples = new ArrayList<>();
        for (int b : BATCHES) {
            for (int t : TOKENS) {
                for (int c : CONTEXTS) {
                    double seconds = fixed + b * (t * perToken + c * perContext);
                    samples.add(new Sample(b, t, c, noise.applyAsDouble(seconds)));
                }
            }
        }
        return samples;
    }

    @Test
    void recoversKnownCoefficientsFromExactData() {
        Linear fit = StepCostFit.fit(grid(2e-3, 5e-5, 3e-7, s -> s));
        assertThat(fit.fixed()).isCloseTo(2e-3, withinPercentage(1e-6));
        assertThat(fit.perToken()).isCloseTo(5e-5, withinPercentage(1e-6));
        assertThat(fit.perContextToken()).isCloseTo(3e-7, withinPercentage(1e-6));
        assertThat(fit.samples()).isEqualTo(BATCHES.length * TOKENS.length * CONTEXTS.length);
        assertThat(fit.rSquared()).isCloseTo(1.0, within(1e-12));
        assertThat(fit.predict(8, 4, 100))
                .isCloseTo(2e-3 + 8 * (4 * 5e-5 + 100 * 3e-7), within(1e-12));
    }

    @Test
    void recoversDraftCoefficientsWithOneTokenPerSequence() {
        List<Sample> samples = new ArrayList<>();
        for (int b : BATCHES) {
            for (int c : CONTEXTS) {
                samples.add(new Sample(b, 1, c, 1e-4 + b * (2e-5 + c * 1e-7)));
            }
        }
        Linear fit = StepCostFit.fit(samples);
        assertThat(fit.fixed()).isCloseTo(1e-4, withinPercentage(1e-6));
        assertThat(fit.perToken()).isCloseTo(2e-5, withinPercentage(1e-6));
        assertThat(fit.perContextToken()).isCloseTo(1e-7, withinPercentage(1e-6));
    }

    @Test
    void recoversCoefficientsFromNoisyDataWithLowerRSquared() {
        Random random = new Random(7);
        Linear fit =
                StepCostFit.fit(
                        grid(2e-3, 5e-5, 3e-7, s -> s * (1 + 0.03 * random.nextGaussian())));
        assertThat(fit.fixed()).isCloseTo(2e-3, withinPercentage(10));
        assertThat(fit.perToken()).isCloseTo(5e-5, withinPercentage(10));
        assertThat(fit.perContextToken()).isCloseTo(3e-7, withinPercentage(10));
        assertThat(fit.rSquared()).isBetween(0.9, 0.9999);
    }

    @Test
    void noiseAloneGivesALowRSquared() {
        Random random = new Random(11);
        Linear fit = StepCostFit.fit(grid(1e-3, 0, 0, s -> s * (1 + 0.1 * random.nextGaussian())));
        assertThat(fit.rSquared()).isLessThan(0.3);
        assertThat(fit.fixed()).isCloseTo(1e-3, withinPercentage(10));
    }

    @Test
    void dropsANegativePerContextCoefficientAndRefitsTheRest() {
        // Seconds fall with context: unconstrained least squares would say perContext < 0.
        List<Sample> samples = grid(1e-3, 1e-4, -1e-7, s -> s);
        assertThat(samples).allSatisfy(s -> assertThat(s.seconds()).isPositive());
        Linear fit = StepCostFit.fit(samples);
        assertThat(fit.perContextToken()).isZero();
        // The rest is the least-squares fit on [1, B*tokens] alone, not the clamped full fit.
        double[] reference = simpleRegression(samples);
        assertThat(fit.fixed()).isCloseTo(reference[0], withinPercentage(1e-6));
        assertThat(fit.perToken()).isCloseTo(reference[1], withinPercentage(1e-6));
        assertThat(fit.perToken()).isNotCloseTo(1e-4, withinPercentage(1));
        assertThat(fit.rSquared()).isLessThan(1.0 - 1e-6);
    }

    @Test
    void aNegativeFixedCostBecomesZero() {
        // Seconds extrapolate to below zero at no work, though every sample is positive.
        List<Sample> samples = new ArrayList<>();
        for (int b : BATCHES) {
            for (int t : TOKENS) {
                for (int c : CONTEXTS) {
                    samples.add(new Sample(b, t, c, -2e-5 + b * (t * 5e-5 + c * 1e-7)));
                }
            }
        }
        assertThat(samples).allSatisfy(s -> assertThat(s.seconds()).isPositive());
        Linear fit = StepCostFit.fit(samples);
        assertThat(fit.fixed()).isZero();
        assertThat(fit.perToken()).isPositive();
        assertThat(fit.perContextToken()).isPositive();
        assertThat(fit.rSquared()).isGreaterThan(0.99);
    }

    @Test
    void rejectsTooFewSamples() {
        assertThatThrownBy(
                        () ->
                                StepCostFit.fit(
                                        List.of(
                                                new Sample(1, 1, 32, 1e-3),
                                                new Sample(8, 1, 96, 2e-3))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 3 samples")
                .hasMessageContaining("got 2");
    }

    @Test
    void rejectsIdenticalSamples() {
        List<Sample> same =
                List.of(
                        new Sample(4, 2, 64, 1e-3),
                        new Sample(4, 2, 64, 1.1e-3),
                        new Sample(4, 2, 64, 0.9e-3));
        assertThatThrownBy(() -> StepCostFit.fit(same))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("degenerate")
                .hasMessageContaining("B*tokens is 8.0 in all 3 samples");
    }

    @Test
    void rejectsASingleContextLengthWithOneTokenPerSequence() {
        // B*tokens = B and B*context = 64 B: the two costs cannot be told apart.
        List<Sample> samples = new ArrayList<>();
        for (int b : BATCHES) {
            samples.add(new Sample(b, 1, 64, 1e-4 + b * 1e-5));
        }
        assertThatThrownBy(() -> StepCostFit.fit(samples))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("degenerate")
                .hasMessageContaining("linearly dependent over the 7 samples");
    }

    @Test
    void rejectsInvalidSamples() {
        assertThatThrownBy(() -> new Sample(0, 1, 1, 1)).hasMessageContaining("batch size");
        assertThatThrownBy(() -> new Sample(1, 1, 1, Double.NaN)).hasMessageContaining("seconds");
        assertThatThrownBy(() -> new Sample(1, 1, -1, 1)).hasMessageContaining("context length");
    }

    @Test
    void combinesDraftAndVerifyFitsIntoAStepCostModel() {
        Linear draft = new Linear(1e-4, 2e-5, 1e-7, 0.99, 21);
        Linear verify = new Linear(2e-3, 5e-5, 3e-7, 0.98, 84);
        LinearStepCostModel model = StepCostFit.model(draft, verify);
        assertThat(model).isEqualTo(new LinearStepCostModel(1e-4, 2e-5, 1e-7, 2e-3, 5e-5, 3e-7));
        assertThat(model.draftStepSeconds(8, 100))
                .isCloseTo(draft.predict(8, 1, 100), within(1e-15));
        assertThat(model.verifySeconds(8, 4, 100))
                .isCloseTo(verify.predict(8, 4, 100), within(1e-15));
    }

    @Test
    void aVerifyFitWithOnlyAContextCostStillMakesAValidModel() {
        // new LinearStepCostModel(..., 0, 0, 1e-7) would be rejected: verification must cost time.
        Linear verify = new Linear(0, 0, 1e-7, 0.9, 12);
        LinearStepCostModel model = StepCostFit.model(new Linear(1e-4, 1e-5, 0, 1, 3), verify);
        assertThat(model.verifyFixedSeconds()).isPositive().isLessThan(1e-6);
        assertThat(model.verifyPerTokenSeconds()).isZero();
        assertThat(model.verifyPerContextTokenSeconds()).isEqualTo(1e-7);
    }

    /** Ordinary least squares of seconds on [1, B*tokens]: {intercept, slope}. */
    private static double[] simpleRegression(List<Sample> samples) {
        double n = samples.size();
        double mx = 0;
        double my = 0;
        for (Sample s : samples) {
            mx += s.tokenWork() / n;
            my += s.seconds() / n;
        }
        double sxy = 0;
        double sxx = 0;
        for (Sample s : samples) {
            sxy += (s.tokenWork() - mx) * (s.seconds() - my);
            sxx += (s.tokenWork() - mx) * (s.tokenWork() - mx);
        }
        double slope = sxy / sxx;
        return new double[] {my - slope * mx, slope};
    }

    @Test
    void relativeFitKeepsSmallRoundsAccurate() {
        // Small rounds carry a fixed cost the large ones drown out; one large outlier pulls the
        // absolute fit's intercept, not the relative one.
        java.util.List<StepCostFit.Sample> samples = new java.util.ArrayList<>();
        for (int b : new int[] {1, 2, 4, 8, 16, 32, 64}) {
            for (int ctx : new int[] {20, 80}) {
                samples.add(
                        new StepCostFit.Sample(b, 4, ctx, 1e-3 + b * 4 * 1e-4 + b * ctx * 1e-6));
            }
        }
        samples.add(new StepCostFit.Sample(64, 4, 80, 0.2)); // a disturbed large round
        StepCostFit.Linear absolute = StepCostFit.fit(samples);
        StepCostFit.Linear relative = StepCostFit.fitRelative(samples);
        double truth = 1e-3 + 4e-4 + 20e-6;
        double absError = Math.abs(absolute.predict(1, 4, 20) / truth - 1);
        double relError = Math.abs(relative.predict(1, 4, 20) / truth - 1);
        org.assertj.core.api.Assertions.assertThat(relError).isLessThan(0.05);
        org.assertj.core.api.Assertions.assertThat(absError).isGreaterThan(relError);
    }
}
