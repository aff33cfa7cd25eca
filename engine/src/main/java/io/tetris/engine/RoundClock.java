package io.tetris.engine;

import io.tetris.policy.RoundCost;
import io.tetris.policy.StepCostModel;

/** What a round cost, as a cost-learning policy is told: measured, or predicted by a model. */
@FunctionalInterface
public interface RoundClock {

    /**
     * @param startNanos {@link System#nanoTime} when the round's steps began
     */
    RoundCost cost(Round round, long startNanos);

    /**
     * The loop ran out of sequences: the wait for the next request is not a round's host work, so
     * the next round counts its own steps only.
     */
    default void idle() {}

    /** The round's policy learned and its observers saw it: the loop's next work begins. */
    default void ended() {}

    /**
     * The round's model passes as timed, plus as its other time everything since the previous round
     * ended that is neither a model pass nor a prefill (a request's one-time cost, and a draft
     * cache's catch-up when speculation turns on, are not what a round costs in steady state):
     * planning, allocation, sampling, the loop's bookkeeping. What the policy does to learn from a
     * round is that round's, and the policy adds it itself, since the cost it is told cannot
     * include it; so the previous round ends when its learning has. The first round, and the first
     * after {@link #idle}, count their own steps only. One clock per loop.
     */
    static RoundClock wall() {
        return new RoundClock() {
            private long lastEnd = Long.MIN_VALUE;

            @Override
            public void idle() {
                lastEnd = Long.MIN_VALUE;
            }

            @Override
            public void ended() {
                lastEnd = System.nanoTime();
            }

            @Override
            public RoundCost cost(Round round, long startNanos) {
                long now = System.nanoTime();
                RoundCost cost = round.cost();
                long from = lastEnd == Long.MIN_VALUE ? startNanos : lastEnd;
                return cost.withOtherSeconds(
                        (now - from - round.prefillNanos) / 1e9 - cost.seconds());
            }
        };
    }

    /** What the round would have measured under {@code model}: the simulator's clock. */
    static RoundClock predicted(StepCostModel model) {
        return (round, startNanos) -> round.predictedCost(model);
    }
}
