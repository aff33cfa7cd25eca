package io.tetris.engine;

import io.tetris.core.SpeculationStats;
import io.tetris.policy.RoundCost;

/**
 * Sees every round after its steps ran and the policy learned from it: counters, metrics, timing
 * samples. Every loop (the job, the benchmark, the simulator) runs the same round sequence and
 * differs only in what observes it.
 */
@FunctionalInterface
public interface RoundObserver {

    /**
     * @param cost what the policy was told the round cost
     */
    void completed(Round round, RoundCost cost);

    /** This observer, then {@code next}. */
    default RoundObserver andThen(RoundObserver next) {
        return (round, cost) -> {
            completed(round, cost);
            next.completed(round, cost);
        };
    }

    /** Adds every round to {@code stats}. */
    static RoundObserver counting(SpeculationStats stats) {
        return (round, cost) -> round.countInto(stats);
    }
}
