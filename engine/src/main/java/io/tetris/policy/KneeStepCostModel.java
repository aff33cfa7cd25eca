package io.tetris.policy;

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
     * A 70B-class target (BF16, tensor-parallel over 4 H100) with a 1B-class draft, in the regime
     * the TETRIS paper measured. Grounded in docs/benchmarks.md ("Grounding the accelerator cost
     * model"): the draft step is the paper's own "more than 2.5 ms per draft token"; the target
     * pass is the memory-bound roofline (141 GB of weights over 4 x 3.35 TB/s = 10.5 ms) times the
     * 2 to 3 that real steps take over the bound; the knee is where the pass turns compute-bound
     * (about 300 query tokens at 989 dense BF16 TFLOP/s per GPU, 512 with the same factor); past
     * it, 2 x 70e9 FLOPs per token at 60 % of peak on 4 GPUs is 60 us.
     */
    public static final KneeStepCostModel GPU_LIKE =
            new KneeStepCostModel(2.5e-3, 256, 25e-3, 512, 6e-5, 2e-8);

    /**
     * The TETRIS paper's largest setup: Llama-3.1-405B in FP8 over 8 H100 with a 1B FP8 draft.
     * Draft step 2.5 ms (the paper); target pass 2 x the roofline of 405 GB over 8 x 3.35 TB/s (30
     * ms); knee at 300 query tokens (1,979 dense FP8 TFLOP/s per GPU); 85 us per token past it (2 x
     * 405e9 FLOPs at 60 % of 8 x 1,979 TFLOP/s).
     */
    public static final KneeStepCostModel PAPER_405B =
            new KneeStepCostModel(2.5e-3, 256, 30e-3, 300, 8.5e-5, 2e-8);

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
