package io.tetris.core.policy;

/**
 * Predicts the wall time of a decode round's parts, so goodput-driven policies can weigh expected
 * tokens against time. The measured (profiled) implementation arrives with the benchmark work;
 * {@link LinearStepCostModel} is the configurable one.
 */
public interface StepCostModel {

    /** Seconds for one draft forward step proposing one token for each of {@code batchSize}. */
    double draftStepSeconds(int batchSize, double meanContextLength);

    /**
     * Seconds for one target pass over {@code batchSize} sequences of {@code tokensPerSequence} new
     * tokens each (verified drafts plus one).
     */
    double verifySeconds(int batchSize, double tokensPerSequence, double meanContextLength);

    /** A whole round: {@code draftLength} draft steps, then one verification pass. */
    default double roundSeconds(
            int batchSize, int draftLength, double verifiedPerSequence, double meanContextLength) {
        return draftLength * draftStepSeconds(batchSize, meanContextLength)
                + verifySeconds(batchSize, verifiedPerSequence + 1, meanContextLength);
    }
}
