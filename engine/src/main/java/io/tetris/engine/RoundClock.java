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
     * The round's model passes as timed, plus as its other time everything since the previous round
     * ended that is neither a model pass nor a prefill (a request's one-time cost, and a draft
     * cache's catch-up when speculation turns on, are not what a round costs in steady state):
     * planning, allocation, sampling, the loop's bookkeeping. A round that began later after the
     * previous one than that one lasted waited for work; it counts its own steps only. One clock
     * per loop: it keeps the previous round's end.
     */
    static RoundClock wall() {
        return new RoundClock() {
            private long lastEnd = Long.MIN_VALUE;
            private long lastLength;

            @Override
            public RoundCost cost(Round round, long startNanos) {
                long now = System.nanoTime();
                RoundCost cost = round.cost();
                boolean busy =
                        lastEnd != Long.MIN_VALUE
                                && startNanos - lastEnd <= Math.max(lastLength, 0);
                long from = busy ? lastEnd : startNanos;
                lastLength = now - startNanos;
                lastEnd = now;
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
