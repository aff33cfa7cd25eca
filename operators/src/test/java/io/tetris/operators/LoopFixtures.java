package io.tetris.operators;

import io.tetris.config.TetrisConfig;
import io.tetris.config.TetrisOptions;
import io.tetris.core.SamplingParams;
import io.tetris.engine.Round;
import io.tetris.engine.SequenceView;
import io.tetris.operators.round.LoopRound;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;

/** Configurations and rounds for the loop operators' harness tests. */
public final class LoopFixtures {

    private LoopFixtures() {}

    /** Bundled models, the given policy and batching limits. */
    public static TetrisConfig config(
            String policy, int maxRunning, int maxWaiting, String queueFull) {
        Configuration conf = io.tetris.config.BundledModelsConfig.configuration();
        conf.set(TetrisOptions.POLICY, policy);
        conf.set(TetrisOptions.K, 2);
        conf.set(TetrisOptions.EXTRA, 2);
        conf.set(TetrisOptions.MAX_RUNNING, maxRunning);
        conf.set(TetrisOptions.MAX_WAITING, maxWaiting);
        conf.set(TetrisOptions.QUEUE_FULL, queueFull);
        return TetrisConfig.from(conf);
    }

    /** A greedy round over the given prompts with the given draft length. */
    public static LoopRound round(int draftLength, String... prompts) {
        List<SequenceView> views = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            byte[] bytes = prompts[i].getBytes(StandardCharsets.UTF_8);
            int[] tokens = new int[bytes.length];
            for (int j = 0; j < bytes.length; j++) {
                tokens[j] = bytes[j] & 0xFF;
            }
            views.add(new SequenceView("seq-" + i, tokens, SamplingParams.GREEDY, 0, 1.0, 10));
        }
        LoopRound loop = new LoopRound();
        loop.round = Round.of(views);
        loop.round.draftLength = draftLength;
        return loop;
    }

    /** The same round with sequence {@code i}'s draft cap replaced. */
    public static void capDraft(LoopRound loop, int i, int maxDraft) {
        SequenceView s = loop.round.sequences[i];
        loop.round.sequences[i] =
                new SequenceView(s.id(), s.tokens(), s.params(), s.seed(), s.priority(), maxDraft);
    }
}
