package io.tetris.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Tests for {@link LogitsTransform} and {@link SamplingParams}. */
class LogitsTransformTest {

    private static final float[] LOGITS = {2f, 1f, 0f, -1f, 1f};

    @Test
    void temperatureOneIsTheSoftmax() {
        float[] p = LogitsTransform.probabilities(LOGITS, new SamplingParams(1, 0, 1));
        double z = Math.exp(2) + 2 * Math.exp(1) + 1 + Math.exp(-1);
        assertThat(p[0]).isCloseTo((float) (Math.exp(2) / z), within(1e-6f));
        assertThat(p[3]).isCloseTo((float) (Math.exp(-1) / z), within(1e-6f));
        assertThat(sum(p)).isCloseTo(1.0, within(1e-6));
    }

    @Test
    void lowTemperatureSharpensAndHighTemperatureFlattens() {
        float[] cold = LogitsTransform.probabilities(LOGITS, new SamplingParams(0.25, 0, 1));
        float[] warm = LogitsTransform.probabilities(LOGITS, new SamplingParams(4, 0, 1));
        float[] base = LogitsTransform.probabilities(LOGITS, new SamplingParams(1, 0, 1));
        assertThat(cold[0]).isGreaterThan(base[0]);
        assertThat(warm[0]).isLessThan(base[0]);
        assertThat(warm[3]).isGreaterThan(base[3]);
    }

    @Test
    void greedyIsOneHotOnTheLowestIndexArgmax() {
        float[] p = LogitsTransform.probabilities(new float[] {1f, 3f, 3f}, SamplingParams.GREEDY);
        assertThat(p).containsExactly(0f, 1f, 0f);
        assertThat(LogitsTransform.argmax(new float[] {1f, 3f, 3f})).isEqualTo(1);
    }

    @Test
    void topKKeepsTheKMostLikelyBreakingTiesByTokenId() {
        float[] p = LogitsTransform.probabilities(LOGITS, new SamplingParams(1, 2, 1));
        // Tokens 1 and 4 tie at logit 1; token 1 wins the second slot.
        assertThat(p[0]).isGreaterThan(0);
        assertThat(p[1]).isGreaterThan(0);
        assertThat(p[2]).isZero();
        assertThat(p[3]).isZero();
        assertThat(p[4]).isZero();
        assertThat(p[0] / p[1]).isCloseTo((float) Math.E, within(1e-5f));
        assertThat(sum(p)).isCloseTo(1.0, within(1e-6));
    }

    @Test
    void topPKeepsTheSmallestNucleusReachingP() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        float[] p = LogitsTransform.probabilities(logits, new SamplingParams(1, 0, 0.7));
        assertThat(p[0]).isCloseTo(0.5f / 0.8f, within(1e-6f));
        assertThat(p[1]).isCloseTo(0.3f / 0.8f, within(1e-6f));
        assertThat(p[2]).isZero();
        float[] tiny = LogitsTransform.probabilities(logits, new SamplingParams(1, 0, 0.01));
        assertThat(tiny).containsExactly(1f, 0f, 0f);
    }

    @Test
    void topKAndTopPCompose() {
        float[] logits = {(float) Math.log(0.4), (float) Math.log(0.35), (float) Math.log(0.25)};
        float[] p = LogitsTransform.probabilities(logits, new SamplingParams(1, 2, 0.99));
        assertThat(p[2]).isZero();
        assertThat(p[0]).isCloseTo(0.4f / 0.75f, within(1e-6f));
    }

    @Test
    void logSoftmaxIsNormalisedAndShiftInvariant() {
        float[] a = LogitsTransform.logSoftmax(LOGITS);
        float[] shifted = new float[LOGITS.length];
        for (int i = 0; i < LOGITS.length; i++) {
            shifted[i] = LOGITS[i] + 100f;
        }
        float[] b = LogitsTransform.logSoftmax(shifted);
        double total = 0;
        for (int i = 0; i < a.length; i++) {
            total += Math.exp(a[i]);
            assertThat(a[i]).isCloseTo(b[i], within(1e-4f));
            assertThat(a[i]).isLessThanOrEqualTo(0f);
        }
        assertThat(total).isCloseTo(1.0, within(1e-6));
    }

    @Test
    void samplingParamsRejectOutOfRangeValues() {
        assertThatThrownBy(() -> new SamplingParams(Double.NaN, 0, 1))
                .hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(-0.5, 0, 1))
                .hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(1, -1, 1)).hasMessageContaining("top_k");
        assertThatThrownBy(() -> new SamplingParams(1, 0, 0)).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new SamplingParams(1, 0, 1.5)).hasMessageContaining("top_p");
    }

    private static double sum(float[] p) {
        double s = 0;
        for (float x : p) {
            s += x;
        }
        return s;
    }
}
