package io.tetris.core;

import java.util.Objects;

/**
 * Turns one position's logits (or log-probabilities: any additive constant cancels) into the
 * sampling distribution: temperature, then top-k, then top-p, then renormalisation. Draft and
 * target go through this same code.
 */
public final class LogitsTransform {

    private LogitsTransform() {}

    /**
     * The sampling distribution for non-greedy parameters.
     *
     * @param logits {@code [vocab]}
     * @return {@code [vocab]} probabilities summing to 1; tokens removed by top-k/top-p get 0
     */
    public static float[] probabilities(float[] logits, SamplingParams params) {
        Objects.requireNonNull(logits, "logits");
        if (params.greedy()) {
            float[] oneHot = new float[logits.length];
            oneHot[argmax(logits)] = 1f;
            return oneHot;
        }
        double[] scaled = new double[logits.length]; // [vocab]
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < logits.length; v++) {
            scaled[v] = logits[v] / params.temperature();
            max = Math.max(max, scaled[v]);
        }
        double sum = 0;
        for (int v = 0; v < scaled.length; v++) {
            scaled[v] = Math.exp(scaled[v] - max);
            sum += scaled[v];
        }
        for (int v = 0; v < scaled.length; v++) {
            scaled[v] /= sum;
        }
        if (params.topK() > 0 && params.topK() < logits.length || params.topP() < 1) {
            keepTop(scaled, params.topK(), params.topP());
        }
        return normalise(scaled);
    }

    /** Natural-log softmax, used for the draft confidences TETRIS ranks by. */
    public static float[] logSoftmax(float[] logits) {
        double logZ = logSumExp(logits);
        float[] out = new float[logits.length];
        for (int v = 0; v < logits.length; v++) {
            out[v] = (float) (logits[v] - logZ);
        }
        return out;
    }

    /** {@code log(sum(exp(logits)))}, computed stably; in double precision. */
    public static double logSumExp(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return max + Math.log(sum);
    }

    /** Index of the largest value; the lowest index wins ties. */
    public static int argmax(float[] values) {
        int best = 0;
        for (int v = 1; v < values.length; v++) {
            if (values[v] > values[best]) {
                best = v;
            }
        }
        return best;
    }

    /**
     * Zeroes every token outside the top-k and outside the top-p nucleus. Ranks by probability,
     * lower token id first among equals, so the kept set is deterministic.
     */
    private static void keepTop(double[] probs, int topK, double topP) {
        int vocab = probs.length;
        Integer[] order = new Integer[vocab];
        for (int v = 0; v < vocab; v++) {
            order[v] = v;
        }
        java.util.Arrays.sort(
                order,
                (a, b) -> {
                    int c = Double.compare(probs[b], probs[a]);
                    return c != 0 ? c : Integer.compare(a, b);
                });
        int keep = topK > 0 ? Math.min(topK, vocab) : vocab;
        double cumulative = 0;
        for (int rank = 0; rank < keep; rank++) {
            cumulative += probs[order[rank]];
            // The nucleus is the smallest prefix reaching topP; it always keeps the first token.
            if (cumulative >= topP) {
                keep = rank + 1;
                break;
            }
        }
        for (int rank = keep; rank < vocab; rank++) {
            probs[order[rank]] = 0;
        }
    }

    private static float[] normalise(double[] probs) {
        double sum = 0;
        for (double p : probs) {
            sum += p;
        }
        float[] out = new float[probs.length];
        for (int v = 0; v < probs.length; v++) {
            out[v] = (float) (probs[v] / sum);
        }
        return out;
    }
}
