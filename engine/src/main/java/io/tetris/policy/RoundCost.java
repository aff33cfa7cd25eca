package io.tetris.policy;

/**
 * A round's measured time, as a cost model learns it.
 *
 * @param batchSize sequences in the round
 * @param meanContextLength mean committed tokens per sequence
 * @param draftRows sequences that drafted (a draft step runs these, not the whole batch)
 * @param draftSteps batched draft-model steps taken
 * @param draftSeconds all of them
 * @param verifyTokensPerSequence new tokens of the longest row of the verification pass (its
 *     verified drafts plus one); the pass costs its mean ({@code verifiedTokens / batchSize + 1})
 * @param verifiedTokens draft tokens verified over all rows
 * @param verifySeconds the verification pass
 * @param otherSeconds the rest of the round's wall time: prefill of prompts (and of draft caches
 *     that fell behind), the allocation, host work between passes; 0 where not measured
 */
public record RoundCost(
        int batchSize,
        double meanContextLength,
        int draftRows,
        int draftSteps,
        double draftSeconds,
        int verifyTokensPerSequence,
        int verifiedTokens,
        double verifySeconds,
        double otherSeconds) {

    /** The same round with its time outside the two models. */
    public RoundCost withOtherSeconds(double seconds) {
        return new RoundCost(
                batchSize,
                meanContextLength,
                draftRows,
                draftSteps,
                draftSeconds,
                verifyTokensPerSequence,
                verifiedTokens,
                verifySeconds,
                seconds);
    }

    /** The round's model time: drafting and verification (what a cost model predicts). */
    public double seconds() {
        return draftSeconds + verifySeconds;
    }
}
