package io.tetris.core;

/**
 * The per-request sampling transform, applied identically to the draft's and the target's logits so
 * that speculative sampling stays lossless with respect to the transformed target.
 *
 * @param temperature 0 for greedy decoding, otherwise a finite value above 0
 * @param topK keep only the {@code topK} most likely tokens; 0 disables
 * @param topP keep the smallest set of most likely tokens whose mass reaches {@code topP}, in
 *     {@code (0, 1]}; 1 disables
 */
public record SamplingParams(double temperature, int topK, double topP) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1);

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException(
                    "temperature must be finite and >= 0, was " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 disables), was " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], was " + topP);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
