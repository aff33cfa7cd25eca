package io.tetris.policy;

/**
 * What a policy knows about the coming round before drafting.
 *
 * @param batchSize running sequences in the round, at least 0
 * @param meanContextLength mean tokens already in each sequence's context
 */
public record RoundShape(int batchSize, double meanContextLength) {
    public RoundShape {
        if (batchSize < 0 || !(meanContextLength >= 0)) {
            throw new IllegalArgumentException(
                    "need batchSize >= 0 and meanContextLength >= 0, got "
                            + batchSize
                            + ", "
                            + meanContextLength);
        }
    }
}
