package io.tetris.core.policy;

/**
 * A round's measured time, as a cost model learns it.
 *
 * @param batchSize sequences in the round
 * @param meanContextLength mean committed tokens per sequence
 * @param draftSteps batched draft-model steps taken
 * @param draftSeconds all of them
 * @param verifyTokensPerSequence new tokens per sequence in the verification pass (longest verified
 *     row plus one; our runner pads to it)
 * @param verifiedTokens draft tokens verified over all rows
 * @param verifySeconds the verification pass
 */
public record RoundCost(
        int batchSize,
        double meanContextLength,
        int draftSteps,
        double draftSeconds,
        int verifyTokensPerSequence,
        int verifiedTokens,
        double verifySeconds) {

    /** The round's model time: drafting and verification. */
    public double seconds() {
        return draftSeconds + verifySeconds;
    }
}
