package io.tetris.policy;

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
     * bonus position per sequence. The default is our ONNX runner's cost, which multiplies the
     * weights by the real tokens only (tetris.model.pack-rows, as variable-length attention on a
     * GPU does): the pass costs its mean tokens per sequence, whatever the longest row.
     */
    default double verifySeconds(
            int batchSize, int totalDraftTokens, int longestRow, double meanContextLength) {
        return verifySeconds(
                batchSize, meanTokensPerSequence(batchSize, totalDraftTokens), meanContextLength);
    }

    /** New tokens per sequence of a pass, on average: its draft tokens plus one per sequence. */
    static double meanTokensPerSequence(int batchSize, int totalDraftTokens) {
        return batchSize < 1 ? 1 : (totalDraftTokens + batchSize) / (double) batchSize;
    }

    /** A whole round: {@code draftLength} draft steps, then one verification pass. */
    default double roundSeconds(
            int batchSize, int draftLength, double verifiedPerSequence, double meanContextLength) {
        return draftSeconds(batchSize, draftLength, meanContextLength)
                + verifySeconds(batchSize, verifiedPerSequence + 1, meanContextLength);
    }
}
