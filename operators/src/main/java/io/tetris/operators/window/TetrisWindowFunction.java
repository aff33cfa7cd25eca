package io.tetris.operators.window;

import io.tetris.config.TetrisConfig;
import io.tetris.core.policy.Allocation;
import io.tetris.engine.RoundRunner;
import io.tetris.operators.replica.Replica;
import io.tetris.operators.replica.ReplicaRegistry;
import io.tetris.operators.round.Round;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Third operator of the decode loop: spends the round's verification budget with the configured
 * policy ({@code tetris}: the globally most likely draft tokens, weighted by request priority).
 */
public final class TetrisWindowFunction extends ProcessFunction<Round, Round> {

    private static final long serialVersionUID = 1L;

    // ----- configuration -----
    private final TetrisConfig config;

    // ----- runtime -----
    private transient Replica replica;
    private transient Counter budget;
    private transient Counter verifiedTokens;

    public TetrisWindowFunction(TetrisConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public void open(OpenContext openContext) {
        replica = ReplicaRegistry.acquire(getRuntimeContext(), config);
        var metrics = getRuntimeContext().getMetricGroup();
        budget = metrics.counter("budgetTokens");
        verifiedTokens = metrics.counter("verifiedDraftTokens");
        metrics.gauge("budgetUtilisation", () -> replica.stats().budgetUtilisation());
    }

    @Override
    public void processElement(Round round, Context ctx, Collector<Round> out) {
        var views = round.views();
        Allocation allocation =
                replica.policy()
                        .allocate(
                                round.draftLogProbs,
                                RoundRunner.weightsOf(views),
                                RoundRunner.groupsOf(views),
                                RoundRunner.shapeOf(views));
        round.verify = allocation.verify();
        round.budget = allocation.budget();
        budget.inc(allocation.budget());
        verifiedTokens.inc(allocation.verified());
        out.collect(round);
    }

    @Override
    public void close() {
        if (replica != null) {
            ReplicaRegistry.release(getRuntimeContext());
        }
    }
}
