package io.tetris.operators.verify;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.core.LogitsTransform;
import io.tetris.core.policy.Allocation;
import io.tetris.engine.Drafts;
import io.tetris.model.BundledModels;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.OnnxLanguageModel;
import io.tetris.operators.LoopFixtures;
import io.tetris.operators.replica.Replica;
import io.tetris.operators.replica.ReplicaRegistry;
import io.tetris.operators.round.LoopRound;
import java.util.List;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** Tests for {@link VerifyFunction}. */
class VerifyFunctionTest {

    @Test
    void verifiesAndHandsTheRoundBackThroughTheReplica() throws Exception {
        LoopRound round = LoopFixtures.round(3, "Hello, wor");
        int[] prompt = round.round.sequences[0].tokens();
        // Draft the target's own greedy continuation: all three must be accepted, plus a bonus.
        int[] drafts = new int[3];
        try (OnnxLanguageModel target = BundledModels.load(BundledModels.target())) {
            float[][] rows = target.extend(List.of(new Extension("t", prompt)))[0];
            drafts[0] = LogitsTransform.argmax(rows[rows.length - 1]);
            for (int j = 1; j < 3; j++) {
                rows = target.extend(List.of(new Extension("t", new int[] {drafts[j - 1]})))[0];
                drafts[j] = LogitsTransform.argmax(rows[0]);
            }
        }
        round.round.drafts =
                new Drafts(
                        new int[][] {drafts},
                        new float[1][3][],
                        new double[][] {{-0.1, -0.1, -0.1}});
        round.round.allocation = new Allocation(new int[] {3}, 3);

        VerifyFunction function = new VerifyFunction(LoopFixtures.config("fixed", 4, 4, "wait"));
        try (OneInputStreamOperatorTestHarness<LoopRound, LoopRound> harness =
                ProcessFunctionTestHarnesses.forProcessFunction(function)) {
            harness.processElement(round, 0);
            assertThat(harness.extractOutputValues()).isEmpty();

            Replica replica = ReplicaRegistry.acquire(function.getRuntimeContext(), () -> null);
            LoopRound done = replica.takeCompleted();
            ReplicaRegistry.release(function.getRuntimeContext());
            assertThat(done).isSameAs(round);
            assertThat(done.round.outcome.accepted()).containsExactly(3);
            assertThat(done.round.outcome.emitted()[0]).hasSize(4).startsWith(drafts);
            assertThat(replica.stats().acceptedTokens()).isEqualTo(3);
        }
    }
}
