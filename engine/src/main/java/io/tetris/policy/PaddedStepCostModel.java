package io.tetris.policy;

import java.util.Objects;

/**
 * A step-cost model for a runner that multiplies the weights by a ragged pass's real tokens only
 * but still runs its attention and element-wise operators over every row padded to the longest
 * (this project's ONNX runner, {@code tetris.model.pack-rows}): each padded position costs a
 * fraction of a real token. On the widened target at batch 8 one row of four drafts among plain
 * rows took 31.6 ms where its tokens alone predict 26 ms. A policy that trades a uniform allocation
 * for a ragged one must see that, or it verifies deep rows that cost more than it expects.
 *
 * @param base the cost of the pass's real tokens (and everything else)
 * @param perPaddedPositionSeconds what each padded position adds, at least 0 (0 on a runner with
 *     variable-length attention, as on a GPU)
 */
public record PaddedStepCostModel(StepCostModel base, double perPaddedPositionSeconds)
        implements StepCostModel, java.io.Serializable {

    public PaddedStepCostModel {
        Objects.requireNonNull(base, "base");
        if (!(perPaddedPositionSeconds >= 0) || Double.isInfinite(perPaddedPositionSeconds)) {
            throw new IllegalArgumentException(
                    "cost per padded position must be finite and >= 0, got "
                            + perPaddedPositionSeconds);
        }
    }

    /** {@code base} with padding priced at {@code perPaddedPositionSeconds}; base itself at 0. */
    public static StepCostModel of(StepCostModel base, double perPaddedPositionSeconds) {
        return perPaddedPositionSeconds > 0
                ? new PaddedStepCostModel(base, perPaddedPositionSeconds)
                : base;
    }

    /** Positions of a pass that carry no token: every row padded to the longest, plus one each. */
    public static int paddedPositions(int batchSize, int totalDraftTokens, int longestRow) {
        return Math.max(0, batchSize * longestRow - totalDraftTokens);
    }

    @Override
    public double draftStepSeconds(int batchSize, double meanContextLength) {
        return base.draftStepSeconds(batchSize, meanContextLength);
    }

    @Override
    public double draftSeconds(int batchSize, int steps, double meanContextLength) {
        return base.draftSeconds(batchSize, steps, meanContextLength);
    }

    @Override
    public double verifySeconds(int batchSize, double tokensPerSequence, double meanContextLength) {
        return base.verifySeconds(batchSize, tokensPerSequence, meanContextLength);
    }

    @Override
    public double verifySeconds(
            int batchSize, int totalDraftTokens, int longestRow, double meanContextLength) {
        return base.verifySeconds(batchSize, totalDraftTokens, longestRow, meanContextLength)
                + perPaddedPositionSeconds
                        * paddedPositions(batchSize, totalDraftTokens, longestRow);
    }
}
