package io.tetris.operators.draft;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.engine.Round;
import io.tetris.operators.LoopFixtures;
import io.tetris.operators.round.LoopRound;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** Tests for {@link DraftFunction}. */
class DraftFunctionTest {

    @Test
    void draftsTheRequestedLengthWithinEachSequencesLimit() throws Exception {
        DraftFunction function =
                new DraftFunction(LoopFixtures.config("tetris", 4, 4, "wait"), 256);
        try (OneInputStreamOperatorTestHarness<LoopRound, LoopRound> harness =
                ProcessFunctionTestHarnesses.forProcessFunction(function)) {
            LoopRound round = LoopFixtures.round(4, "Hello, wor", "The quick brown", "x");
            LoopFixtures.capDraft(round, 2, 1);
            harness.processElement(round, 0);

            Round out = harness.extractOutputValues().get(0).round;
            assertThat(out.drafts.tokens()[0]).hasSize(4);
            assertThat(out.drafts.tokens()[1]).hasSize(4);
            assertThat(out.drafts.tokens()[2]).hasSize(1);
            for (int i = 0; i < 3; i++) {
                assertThat(out.drafts.logProbs()[i]).hasSameSizeAs(out.drafts.tokens()[i]);
                for (double lp : out.drafts.logProbs()[i]) {
                    assertThat(lp).isLessThanOrEqualTo(0.0);
                }
            }
            assertThat(out.draftNanos).isPositive();
        }
    }
}
