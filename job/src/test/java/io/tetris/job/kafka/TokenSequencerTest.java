package io.tetris.job.kafka;

import static io.tetris.job.kafka.Records.token;
import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenSequencerTest {

    private final TokenSequencer sequencer = new TokenSequencer();

    @Test
    void deliversInOrderEventsAtOnce() {
        assertThat(seqs(sequencer.accept(token("a", 0, false)))).containsExactly(0);
        assertThat(seqs(sequencer.accept(token("a", 1, true)))).containsExactly(1);
        assertThat(sequencer.nextSeq("a")).isEqualTo(2);
    }

    @Test
    void forgettingARequestDropsItsStreamAndHeldBackEvents() {
        sequencer.accept(token("a", 0, false));
        sequencer.accept(token("a", 2, false));
        sequencer.accept(token("b", 0, false));

        sequencer.forget("a");

        assertThat(sequencer.requestIds()).containsExactly("b");
        assertThat(sequencer.heldBack("a")).isZero();
        assertThat(sequencer.nextSeq("a")).isZero();
    }

    @Test
    void dropsDuplicatesDeliveredOrHeldBack() {
        sequencer.accept(token("a", 0, false));
        sequencer.accept(token("a", 2, false));

        assertThat(sequencer.accept(token("a", 0, false))).isEmpty();
        assertThat(sequencer.accept(token("a", 2, false))).isEmpty();
        assertThat(sequencer.duplicates()).isEqualTo(2);
        assertThat(sequencer.heldBack("a")).isEqualTo(1);
    }

    @Test
    void holdsBackEarlyEventsUntilTheGapCloses() {
        assertThat(sequencer.accept(token("a", 2, false))).isEmpty();
        assertThat(sequencer.accept(token("a", 1, false))).isEmpty();
        assertThat(seqs(sequencer.accept(token("a", 0, false)))).containsExactly(0, 1, 2);
        assertThat(sequencer.heldBack("a")).isZero();
    }

    @Test
    void keepsRequestsApart() {
        List<Integer> a = new ArrayList<>();
        List<Integer> b = new ArrayList<>();
        for (TokenEvent e :
                List.of(
                        token("b", 1, false),
                        token("a", 0, false),
                        token("b", 0, false),
                        token("a", 1, false),
                        token("b", 1, false),
                        token("a", 0, false))) {
            for (TokenEvent ready : sequencer.accept(e)) {
                (ready.getRequestId().equals("a") ? a : b).add(ready.getSeq());
            }
        }

        assertThat(a).containsExactly(0, 1);
        assertThat(b).containsExactly(0, 1);
        assertThat(sequencer.nextSeq("unknown")).isZero();
    }

    private static List<Integer> seqs(List<TokenEvent> events) {
        return events.stream().map(TokenEvent::getSeq).toList();
    }
}
