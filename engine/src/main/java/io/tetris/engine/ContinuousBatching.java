package io.tetris.engine;

import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.RoundCost;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuous batching, written once: keep up to a bounded number of sequences running, admit the
 * oldest waiting one as soon as a slot frees, and run one {@link Round} after another over the
 * running batch, each round the same {@link #chained} sequence of steps. What differs between its
 * users is where sequences are kept ({@link Store}), what the steps run on and what observes a
 * round: the benchmark keeps sequences in lists and runs the models, the simulator replays a trace
 * under a cost model, and the job's decode loop keeps them in keyed state and runs the models.
 */
public final class ContinuousBatching {

    /** Where a loop keeps its sequences, and what it does with a round's outcome. */
    public interface Store<T> {

        /** Running sequences, in admission order. */
        List<T> running() throws Exception;

        /** How many are running; a store that can count without reading them says so. */
        default int runningCount() throws Exception {
            return running().size();
        }

        /** Waiting sequences, oldest first. */
        List<T> waiting() throws Exception;

        /** Makes {@code admitted} (the oldest waiting) running; {@code rest} stays waiting. */
        void start(List<T> admitted, List<T> rest) throws Exception;

        /** The round's view of a running sequence now. */
        SequenceView view(T sequence);

        /**
         * Applies what {@code sequence}, the {@code index}-th of {@code round}, emitted.
         *
         * @return whether it has finished; it then leaves the running batch, else it is kept with
         *     its new state
         */
        boolean apply(T sequence, int index, Round round) throws Exception;
    }

    /** Runs a round's steps over a batch. */
    public interface Rounds {
        Round run(List<SequenceView> batch) throws Exception;
    }

    /** The sequences of the chained {@code run}, by index. */
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

    private ContinuousBatching() {}

    /** Sequences running and waiting. */
    public record Occupancy(int running, int waiting) {}

    /**
     * Moves waiting sequences into free running slots, oldest first.
     *
     * @return the counts afterwards
     */
    public static <T> Occupancy admit(Store<T> store, int maxRunning) throws Exception {
        int running = store.runningCount();
        List<T> waiting = store.waiting();
        int queued = waiting.size(); // before start(), which may change the store's list
        int take = Math.max(0, Math.min(maxRunning - running, queued));
        if (take > 0) {
            store.start(
                    new ArrayList<>(waiting.subList(0, take)),
                    new ArrayList<>(waiting.subList(take, waiting.size())));
        }
        return new Occupancy(running + take, queued - take);
    }

    /**
     * One round over the running batch, its outcome applied to every sequence.
     *
     * @return the round, or null when nothing is running
     */
    public static <T> Round step(Store<T> store, Rounds rounds) throws Exception {
        List<T> running = new ArrayList<>(store.running()); // apply may change the store's
        if (running.isEmpty()) {
            return null;
        }
        List<SequenceView> views = new ArrayList<>(running.size());
        for (T s : running) {
            views.add(store.view(s));
        }
        Round round = rounds.run(views);
        for (int i = 0; i < running.size(); i++) {
            store.apply(running.get(i), i, round);
        }
        return round;
    }

    /** Admits and runs rounds until no sequence is running or waiting. */
    public static <T> void drain(Store<T> store, int maxRunning, Rounds rounds) throws Exception {
        while (admit(store, maxRunning).running() > 0) {
            step(store, rounds);
        }
    }

    /**
     * The round's steps chained in one thread, the only sequence every loop runs: plan, draft,
     * allocate, verify, then the policy learns the outcome and the cost {@code clock} gives it, and
     * {@code observer} sees the round.
     */
    public static Rounds chained(
            BudgetPolicy policy,
            DraftStep drafter,
            VerifyStep verifier,
            RoundClock clock,
            RoundObserver observer) {
        return batch -> {
            long start = System.nanoTime();
            Round round =
                    Round.of(batch).plan(policy).draft(drafter).allocate(policy).verify(verifier);
            RoundCost cost = clock.cost(round, start);
            round.learn(policy, cost);
            observer.completed(round, cost);
            clock.ended();
            return round;
        };
    }

    /**
     * Runs {@code order} (sequence indices, admitted in this order) to completion with the steps
     * chained.
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
            RoundClock clock,
            RoundObserver observer) {
        if (batch < 1) {
            throw new IllegalArgumentException("running batch must be >= 1, was " + batch);
        }
        ArrayDeque<Integer> waiting = new ArrayDeque<>(order);
        List<Integer> running = new ArrayList<>();
        Store<Integer> store =
                new Store<>() {
                    @Override
                    public List<Integer> running() {
                        return running;
                    }

                    @Override
                    public List<Integer> waiting() {
                        return new ArrayList<>(waiting);
                    }

                    @Override
                    public void start(List<Integer> admitted, List<Integer> rest) {
                        running.addAll(admitted);
                        for (int i = 0; i < admitted.size(); i++) {
                            waiting.poll();
                        }
                    }

                    @Override
                    public SequenceView view(Integer index) {
                        return sequences.view(index);
                    }

                    @Override
                    public boolean apply(Integer index, int i, Round round) {
                        boolean finished = sequences.apply(index, round.outcome.emitted()[i]);
                        if (finished) {
                            running.remove(index);
                        }
                        return finished;
                    }
                };
        try {
            drain(store, batch, chained(policy, drafter, verifier, clock, observer));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
