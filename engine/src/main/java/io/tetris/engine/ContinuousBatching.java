package io.tetris.engine;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.BudgetPolicy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuous batching without Flink: keeps up to {@code batch} sequences running, admits the oldest
 * waiting one as soon as one finishes, and runs one {@link Round} after another over the running
 * batch until every sequence has finished. The benchmark loop (models) and the simulator (a
 * recorded trace) are this loop with different steps; the job's micro-batcher admits by the same
 * rule from its keyed state.
 */
public final class ContinuousBatching {

    /** The sequences a run works through, by index. */
    public interface Sequences {

        /** The round's view of sequence {@code index} now. */
        SequenceView view(int index);

        /**
         * Applies what sequence {@code index} emitted in a round.
         *
         * @return whether it has finished (it then leaves the batch)
         */
        boolean apply(int index, int[] emitted);
    }

    /** Sees every round after its steps ran (timing samples, a cost model's clock). */
    public interface RoundObserver {
        void completed(Round round);
    }

    private ContinuousBatching() {}

    /**
     * Runs {@code order} (sequence indices, admitted in this order) to completion.
     *
     * @param batch running-batch size, at least 1
     */
    public static void run(
            List<Integer> order,
            int batch,
            Sequences sequences,
            BudgetPolicy policy,
            DraftStep drafter,
            VerifyStep verifier,
            SpeculationStats stats,
            RoundObserver observer) {
        if (batch < 1) {
            throw new IllegalArgumentException("running batch must be >= 1, was " + batch);
        }
        ArrayDeque<Integer> waiting = new ArrayDeque<>(order);
        List<Integer> running = new ArrayList<>();
        while (!waiting.isEmpty() || !running.isEmpty()) {
            while (running.size() < batch && !waiting.isEmpty()) {
                running.add(waiting.poll());
            }
            List<SequenceView> views = new ArrayList<>(running.size());
            for (int index : running) {
                views.add(sequences.view(index));
            }
            Round round =
                    Round.of(views)
                            .plan(policy)
                            .draft(drafter)
                            .allocate(policy)
                            .verify(verifier)
                            .apply(policy, stats);
            observer.completed(round);
            List<Integer> next = new ArrayList<>(running.size());
            for (int r = 0; r < running.size(); r++) {
                int index = running.get(r);
                if (!sequences.apply(index, round.outcome.emitted()[r])) {
                    next.add(index);
                }
            }
            running = next;
        }
    }
}
