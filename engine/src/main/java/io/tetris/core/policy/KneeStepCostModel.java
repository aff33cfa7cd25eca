package io.tetris.core.policy;

/**
 * An accelerator-like step-cost model for projecting GPU-scale throughput from CPU traces: a
 * forward pass costs a flat time until the tokens it processes exceed a knee (the weights are
 * loaded once and the arithmetic units are not yet saturated), then grows linearly. Verification is
 * variable-length, as with vLLM's MQA scorer: it pays for the tokens verified, not for padding.
 *
 * @param draftStepSeconds one draft step, up to {@code draftKneeTokens} sequences
 * @param draftKneeTokens sequences per draft step the flat cost covers
 * @param verifySeconds one target pass, up to {@code verifyKneeTokens} query tokens
 * @param verifyKneeTokens query tokens (verified drafts plus one per sequence) the flat cost covers
 * @param perTokenBeyondKnee seconds per target query token beyond the knee (the draft's is scaled
 *     by {@code draftStepSeconds / verifySeconds})
 * @param perContextTokenSeconds seconds per context token read by a target pass (KV-cache traffic);
 *     the draft's is scaled likewise
 */
public record KneeStepCostModel(
        double draftStepSeconds,
        int draftKneeTokens,
        double verifySeconds,
        int verifyKneeTokens,
        double perTokenBeyondKnee,
        double perContextTokenSeconds)
        implements StepCostModel, java.io.Serializable {

    /**
     * A 70B-class target with a 1B-class draft on one modern GPU, in the regime the TETRIS paper
     * measured: a draft step a tenth of a target pass, verification flat to 512 query tokens.
     */
    public static final KneeStepCostModel GPU_LIKE =
            new KneeStepCostModel(2.5e-3, 256, 25e-3, 512, 6e-5, 2e-8);

    public KneeStepCostModel {
        if (!(draftStepSeconds >= 0)
                || !(verifySeconds > 0)
                || !(perTokenBeyondKnee >= 0)
                || !(perContextTokenSeconds >= 0)
                || Double.isInfinite(draftStepSeconds + verifySeconds + perTokenBeyondKnee)
                || draftKneeTokens < 1
                || verifyKneeTokens < 1) {
            throw new IllegalArgumentException(
                    "knee cost model needs draft >= 0 and verify > 0 seconds, knees >= 1 token and"
                            + " per-token costs >= 0");
        }
    }

    @Override
    public double draftStepSeconds(int batchSize, double meanContextLength) {
        double scale = draftStepSeconds / verifySeconds;
        return draftStepSeconds
                + scale
                        * (perTokenBeyondKnee * Math.max(0, batchSize - draftKneeTokens)
                                + perContextTokenSeconds * batchSize * meanContextLength);
    }

    @Override
    public double verifySeconds(int batchSize, double tokensPerSequence, double meanContextLength) {
        return passSeconds(batchSize * tokensPerSequence, batchSize, meanContextLength);
    }

    @Override
    public double verifySeconds(
            int batchSize, int totalDraftTokens, int longestRow, double meanContextLength) {
        return passSeconds(totalDraftTokens + batchSize, batchSize, meanContextLength);
    }

    private double passSeconds(double queryTokens, int batchSize, double meanContextLength) {
        return verifySeconds
                + perTokenBeyondKnee * Math.max(0, queryTokens - verifyKneeTokens)
                + perContextTokenSeconds * batchSize * meanContextLength;
    }
}
