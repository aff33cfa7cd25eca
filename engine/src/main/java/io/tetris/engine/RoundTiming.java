package io.tetris.engine;

/**
 * Where one round's wall time went, for fitting step-cost models to real rounds.
 *
 * @param batchSize sequences in the round
 * @param meanContextLength mean committed tokens per sequence
 * @param draftSteps batched draft-model steps taken (the longest draft)
 * @param verifyTokensPerSequence new tokens of the verification pass's longest row (its verified
 *     drafts plus one)
 * @param prefillSeconds prompts of sequences new to the models, before the draft steps and the
 *     verification pass
 * @param draftSeconds drafting
 * @param allocateSeconds the policy's allocation
 * @param verifySeconds the target pass and acceptance
 */
public record RoundTiming(
        int batchSize,
        double meanContextLength,
        int draftSteps,
        int verifyTokensPerSequence,
        double prefillSeconds,
        double draftSeconds,
        double allocateSeconds,
        double verifySeconds) {}
