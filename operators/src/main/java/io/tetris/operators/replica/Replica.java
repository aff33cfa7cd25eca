package io.tetris.operators.replica;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.BudgetPolicy;
import io.tetris.operators.round.LoopRound;

/**
 * What the four chained loop operators of one verifier replica share inside their task: the budget
 * policy (the batcher asks it for the draft length, the window operator for the allocation, the
 * verify operator feeds it outcomes), the replica's speculation counters, and the feedback slot
 * through which the verify operator hands a finished round back to the batcher.
 *
 * <p>All access happens on the task's single mailbox thread.
 */
public final class Replica {

    private final BudgetPolicy policy;
    private final SpeculationStats stats = new SpeculationStats();
    private LoopRound completed;
    private int holders;

    Replica(BudgetPolicy policy) {
        this.policy = policy;
    }

    public BudgetPolicy policy() {
        return policy;
    }

    public SpeculationStats stats() {
        return stats;
    }

    /** Called by the verify operator when a round is done. */
    public void complete(LoopRound round) {
        completed = round;
    }

    /**
     * The round the verify operator completed during the last emit, or null when the loop operators
     * are not chained (the emit then returned before the round was verified).
     */
    public LoopRound takeCompleted() {
        LoopRound round = completed;
        completed = null;
        return round;
    }

    int acquire() {
        return ++holders;
    }

    int release() {
        return --holders;
    }
}
