package io.tetris.operators.window;

import io.tetris.config.TetrisConfig;
import io.tetris.operators.replica.Replica;
import io.tetris.operators.replica.ReplicaRegistry;
import io.tetris.operators.round.LoopRound;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Third operator of the decode loop: spends the round's verification budget with the configured
 * policy ({@code tetris}: the globally most likely draft tokens, weighted by request priority).
 */
public final class TetrisWindowFunction extends ProcessFunction<LoopRound, LoopRound> {

    private static final long serialVersionUID = 1L;

    // ----- configuration -----
    private final TetrisConfig config;

    // ----- runtime -----
    private transient Replica replica;

    public TetrisWindowFunction(TetrisConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public void open(OpenContext openContext) {
        replica = ReplicaRegistry.acquire(getRuntimeContext(), config);
        var metrics = getRuntimeContext().getMetricGroup();
        metrics.gauge("budgetUtilisation", () -> replica.stats().budgetUtilisation());
    }

    @Override
    public void processElement(LoopRound loop, Context ctx, Collector<LoopRound> out) {
        loop.round.allocate(replica.policy());
        out.collect(loop);
    }

    @Override
    public void close() {
        if (replica != null) {
            ReplicaRegistry.release(getRuntimeContext());
        }
    }
}
