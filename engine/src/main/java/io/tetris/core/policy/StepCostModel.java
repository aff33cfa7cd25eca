package io.tetris.core.policy;

/**
 * Predicts the wall time of a decode round's parts, so goodput-driven policies can weigh expected
 * tokens against time. {@link LinearStepCostModel} is fitted from a profile of the running machine
 * (or configured); {@link KneeStepCostModel} is an accelerator-like model for projections.
 */
public interface StepCostModel {

    /** Seconds for one draft forward step proposing one token for each of {@code batchSize}. */
    double draftStepSeconds(int batchSize, double meanContextLength);

    /**
     * Seconds for a round's {@code steps} draft steps; models that know better than steps times
     * one.
     */
    default double draftSeconds(int batchSize, int steps, double meanContextLength) {
        return steps * draftStepSeconds(batchSize, meanContextLength);
    }

    /**
     * Seconds for one target pass over {@code batchSize} sequences of {@code tokensPerSequence} new
     * tokens each (verified drafts plus one).
     */
    double verifySeconds(int batchSize, double tokensPerSequence, double meanContextLength);

    /**
     * Seconds for one target pass verifying a ragged allocation: {@code totalDraftTokens} draft
     * tokens over {@code batchSize} sequences, the longest row holding {@code longestRow}, plus one
     * bonus position per sequence. The default is our ONNX runner's cost: it pads every row of a
     * batch to the longest, so the pass costs as if every sequence verified {@code longestRow}.
     * Engines with variable-length attention (vLLM's MQA scorer) pay for the total instead.
     */
    default double verifySeconds(
            int batchSize, int totalDraftTokens, int longestRow, double meanContextLength) {
        return verifySeconds(batchSize, longestRow + 1, meanContextLength);
    }

    /** A whole round: {@code draftLength} draft steps, then one verification pass. */
    default double roundSeconds(
            int batchSize, int draftLength, double verifiedPerSequence, double meanContextLength) {
        return draftSeconds(batchSize, draftLength, meanContextLength)
                + verifySeconds(batchSize, verifiedPerSequence + 1, meanContextLength);
    }
}
