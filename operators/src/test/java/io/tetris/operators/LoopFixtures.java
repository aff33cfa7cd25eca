package io.tetris.operators;

import io.tetris.config.TetrisConfig;
import io.tetris.config.TetrisOptions;
import io.tetris.operators.round.Round;
import java.nio.charset.StandardCharsets;
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
    public static Round round(int draftLength, String... prompts) {
        int n = prompts.length;
        Round round = Round.ofSize(n);
        for (int i = 0; i < n; i++) {
            round.ids[i] = "seq-" + i;
            byte[] bytes = prompts[i].getBytes(StandardCharsets.UTF_8);
            round.tokens[i] = new int[bytes.length];
            for (int j = 0; j < bytes.length; j++) {
                round.tokens[i][j] = bytes[j] & 0xFF;
            }
            round.topP[i] = 1f;
            round.priority[i] = 1.0;
            round.maxDraft[i] = 10;
        }
        round.draftLength = draftLength;
        return round;
    }
}
