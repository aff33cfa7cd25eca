package io.tetris.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.core.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The batching core on a store of plain lists and rounds that emit one token per sequence. */
class ContinuousBatchingTest {

    /** Sequence {@code i} needs {@code 1 + i % 3} tokens. */
    private static final class ListStore implements ContinuousBatching.Store<Integer> {
        final List<Integer> waiting = new ArrayList<>();
        final List<Integer> running = new ArrayList<>();
        final int[] emitted;
        final List<Integer> finishedOrder = new ArrayList<>();

        ListStore(int sequences) {
            for (int i = 0; i < sequences; i++) {
                waiting.add(i);
            }
            emitted = new int[sequences];
        }

        @Override
        public List<Integer> running() {
            return running;
        }

        @Override
        public List<Integer> waiting() {
            return waiting;
        }

        @Override
        public void start(List<Integer> admitted, List<Integer> rest) {
            running.addAll(admitted);
            waiting.clear();
            waiting.addAll(rest);
        }

        @Override
        public SequenceView view(Integer s) {
            return new SequenceView("s" + s, new int[] {1}, SamplingParams.GREEDY, 0, 1, 0);
        }

        @Override
        public boolean apply(Integer s, int index, Round round) {
            emitted[s] += round.outcome.emitted()[index].length;
            if (emitted[s] >= 1 + s % 3) {
                running.remove(s);
                finishedOrder.add(s);
                return true;
            }
            return false;
        }
    }

    @Test
    void keepsTheBatchFullAdmitsOldestFirstAndFinishesEverything() throws Exception {
        ListStore store = new ListStore(10);
        List<List<String>> batches = new ArrayList<>();
        ContinuousBatching.Rounds oneTokenEach =
                views -> {
                    batches.add(views.stream().map(SequenceView::id).toList());
                    Round round = Round.of(views);
                    int[][] emitted = new int[views.size()][];
                    for (int i = 0; i < emitted.length; i++) {
                        emitted[i] = new int[] {7};
                    }
                    round.outcome =
                            new Verified(emitted, new int[views.size()], new int[views.size()]);
                    return round;
                };
        ContinuousBatching.drain(store, 3, oneTokenEach);

        assertThat(store.running).isEmpty();
        assertThat(store.waiting).isEmpty();
        for (int s = 0; s < 10; s++) {
            assertThat(store.emitted[s]).as("sequence %d", s).isEqualTo(1 + s % 3);
        }
        assertThat(batches).allSatisfy(b -> assertThat(b).hasSizeLessThanOrEqualTo(3));
        // Oldest first: s0, s1, s2 run first; s0 finishes after one round and s3 takes its slot.
        assertThat(batches.get(0)).containsExactly("s0", "s1", "s2");
        assertThat(batches.get(1)).containsExactly("s1", "s2", "s3");
        // Full while work waits: every round before the queue empties runs three sequences.
        int total = 0;
        for (int s = 0; s < 10; s++) {
            total += 1 + s % 3;
        }
        assertThat(batches.stream().mapToInt(List::size).sum()).isEqualTo(total);
        assertThat(batches.size()).isLessThanOrEqualTo((total + 2) / 3 + 2);
    }

    @Test
    void admitReportsRunningAndWaiting() throws Exception {
        ListStore store = new ListStore(5);
        assertThat(ContinuousBatching.admit(store, 2))
                .isEqualTo(new ContinuousBatching.Occupancy(2, 3));
        assertThat(store.running).containsExactly(0, 1);
        assertThat(ContinuousBatching.admit(store, 2))
                .isEqualTo(new ContinuousBatching.Occupancy(2, 3));
        assertThat(ContinuousBatching.step(new ListStore(0), views -> null)).isNull();
    }
}
