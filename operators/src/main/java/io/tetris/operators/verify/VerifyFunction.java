package io.tetris.operators.verify;

import io.tetris.config.TetrisConfig;
import io.tetris.engine.CachedModel;
import io.tetris.engine.Round;
import io.tetris.engine.Verifier;
import io.tetris.operators.TaskModels;
import io.tetris.operators.replica.Replica;
import io.tetris.operators.replica.ReplicaRegistry;
import io.tetris.operators.round.LoopRound;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Last operator of the decode loop: verifies the selected draft tokens with the target model in one
 * batched pass (lossless), tells the policy how it went, and hands the round back to the batcher
 * through the replica's feedback slot before the batcher's emit returns.
 */
public final class VerifyFunction extends ProcessFunction<LoopRound, LoopRound> {

    private static final long serialVersionUID = 1L;

    // ----- configuration -----
    private final TetrisConfig config;

    // ----- runtime -----
    private transient Replica replica;
    private transient CachedModel model;
    private transient Verifier verifier;
    private transient Counter emittedTokens;
    private transient volatile long lastVerifyMicros;

    public VerifyFunction(TetrisConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public void open(OpenContext openContext) {
        replica = ReplicaRegistry.acquire(getRuntimeContext(), config);
        model = TaskModels.target(getRuntimeContext(), config.models());
        verifier = new Verifier(model, config.verification());
        var metrics = getRuntimeContext().getMetricGroup();
        emittedTokens = metrics.counter("emittedTokens");
        metrics.gauge("verifyMicros", () -> lastVerifyMicros);
        metrics.gauge("acceptanceRate", () -> replica.stats().acceptanceRate());
        metrics.gauge("meanAcceptanceLength", () -> replica.stats().meanAcceptanceLength());
    }

    /**
     * Chaos testing: attempt {@code i} of this task fails when its replica reaches the {@code i}-th
     * configured round, so each configured failure happens exactly once however far the restore
     * rewinds.
     */
    private void maybeFail(LoopRound loop) {
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        if (attempt < config.failAtRounds().size()
                && loop.number == config.failAtRounds().get(attempt)) {
            throw new ChaosFailure(
                    "chaos: verify fails at round "
                            + loop.number
                            + " of replica "
                            + loop.replica
                            + " (attempt "
                            + attempt
                            + ", tetris.chaos.fail-at-round)");
        }
    }

    /** The failure injected by {@code tetris.chaos.fail-at-round}. */
    public static final class ChaosFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ChaosFailure(String message) {
            super(message);
        }
    }

    @Override
    public void processElement(LoopRound loop, Context ctx, Collector<LoopRound> out) {
        maybeFail(loop);
        for (String id : loop.released) {
            model.release(id);
        }
        Round round = loop.round.verify(verifier).apply(replica.policy(), replica.stats());
        replica.policy().observeCost(round.cost());
        lastVerifyMicros = round.verifyNanos / 1000;
        for (int i = 0; i < round.size(); i++) {
            emittedTokens.inc(round.outcome.emitted()[i].length);
        }
        // Nothing goes downstream: the round returns to the batcher through the replica, by
        // reference, before the batcher's emit returns.
        replica.complete(loop);
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
        }
        if (replica != null) {
            ReplicaRegistry.release(getRuntimeContext());
        }
    }
}
