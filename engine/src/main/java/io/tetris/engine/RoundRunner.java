package io.tetris.engine;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.BudgetPolicy;
import java.util.List;

/**
 * Runs a {@link Round}'s steps back to back in one call, for the loops without Flink (the
 * benchmark, the simulator's trace recording, the tests). The Flink job runs the same steps, one
 * per operator of the decode loop.
 */
public final class RoundRunner {

    private final BudgetPolicy policy;
    private final Drafter drafter;
    private final Verifier verifier;
    private final SpeculationStats stats;
    private RoundTiming lastTiming;

    public RoundRunner(
            BudgetPolicy policy, Drafter drafter, Verifier verifier, SpeculationStats stats) {
        this.policy = policy;
        this.drafter = drafter;
        this.verifier = verifier;
        this.stats = stats;
    }

    /** Runs one round over {@code batch}; returns the tokens each sequence emits. */
    public Verified run(List<SequenceView> batch) {
        Round round =
                Round.of(batch)
                        .plan(policy)
                        .draft(drafter)
                        .allocate(policy)
                        .verify(verifier)
                        .apply(policy, stats);
        lastTiming = round.timing();
        return round.outcome;
    }

    /** Where the last round's time went; null before the first round. */
    public RoundTiming lastTiming() {
        return lastTiming;
    }
}
