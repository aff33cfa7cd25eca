package io.tetris.operators.window;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.core.policy.Allocation;
import io.tetris.engine.Drafts;
import io.tetris.operators.LoopFixtures;
import io.tetris.operators.round.LoopRound;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** Tests for {@link TetrisWindowFunction}. */
class TetrisWindowFunctionTest {

    @Test
    void spendsKTimesBatchOnTheMostLikelyDraftTokens() throws Exception {
        TetrisWindowFunction function =
                new TetrisWindowFunction(LoopFixtures.config("tetris", 4, 4, "wait"));
        try (OneInputStreamOperatorTestHarness<LoopRound, LoopRound> harness =
                ProcessFunctionTestHarnesses.forProcessFunction(function)) {
            LoopRound round = LoopFixtures.round(4, "a", "b");
            round.round.drafts =
                    new Drafts(
                            new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}},
                            new float[2][4][],
                            new double[][] {
                                {-0.01, -0.01, -0.01, -0.01}, {-2.0, -0.01, -0.01, -0.01}
                            });
            harness.processElement(round, 0);

            Allocation out = harness.extractOutputValues().get(0).round.allocation;
            assertThat(out.budget()).isEqualTo(4); // k = 2, two sequences
            assertThat(out.verify()).containsExactly(4, 0);
        }
    }

    @Test
    void fixedVerifiesTheWindowForEverySequence() throws Exception {
        TetrisWindowFunction function =
                new TetrisWindowFunction(LoopFixtures.config("fixed", 4, 4, "wait"));
        try (OneInputStreamOperatorTestHarness<LoopRound, LoopRound> harness =
                ProcessFunctionTestHarnesses.forProcessFunction(function)) {
            LoopRound round = LoopFixtures.round(2, "a", "b");
            round.round.drafts =
                    new Drafts(
                            new int[][] {{1, 2}, {5, 6}},
                            new float[2][2][],
                            new double[][] {{-0.01, -0.01}, {-9.0, -9.0}});
            harness.processElement(round, 0);
            assertThat(harness.extractOutputValues().get(0).round.allocation.verify())
                    .containsExactly(2, 2);
        }
    }
}
