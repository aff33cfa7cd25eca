package io.tetris.operators;

import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import org.apache.flink.configuration.Configuration;

/** Configurations for the loop operator's harness tests. */
public final class LoopFixtures {

    private LoopFixtures() {}

    /** Bundled models, the given policy and batching limits. */
    public static TetrisConfig config(
            String policy, int maxRunning, int maxWaiting, String queueFull) {
        Configuration conf = io.tetris.operators.config.BundledModelsConfig.configuration();
        conf.set(TetrisOptions.POLICY, policy);
        conf.set(TetrisOptions.K, 2);
        conf.set(TetrisOptions.EXTRA, 2);
        conf.set(TetrisOptions.MAX_RUNNING, maxRunning);
        conf.set(TetrisOptions.MAX_WAITING, maxWaiting);
        conf.set(TetrisOptions.QUEUE_FULL, queueFull);
        return TetrisConfig.from(conf);
    }
}
