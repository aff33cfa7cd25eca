package io.tetris.operators.draft;

import io.tetris.config.TetrisConfig;
import io.tetris.engine.CachedModel;
import io.tetris.engine.Drafter;
import io.tetris.operators.TaskModels;
import io.tetris.operators.replica.Replica;
import io.tetris.operators.replica.ReplicaRegistry;
import io.tetris.operators.round.LoopRound;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Second operator of the decode loop: proposes {@code round.draftLength} tokens per sequence with
 * the draft model. Its KV caches are transient; they are rebuilt from the round's context.
 */
public final class DraftFunction extends ProcessFunction<LoopRound, LoopRound> {

    private static final long serialVersionUID = 1L;

    // ----- configuration -----
    private final TetrisConfig config;
    private final int endOfText;

    // ----- runtime -----
    private transient Replica replica;
    private transient CachedModel model;
    private transient Drafter drafter;
    private transient volatile long lastDraftMicros;

    /** Reads the end-of-text token from the tokenizer on the TaskManager. */
    public DraftFunction(TetrisConfig config) {
        this(config, -1);
    }

    /** With the end-of-text token given ({@code -1}: read it on the TaskManager). */
    public DraftFunction(TetrisConfig config, int endOfText) {
        this.config = Objects.requireNonNull(config, "config");
        this.endOfText = endOfText;
    }

    @Override
    public void open(OpenContext openContext) {
        replica = ReplicaRegistry.acquire(getRuntimeContext(), config);
        int eos =
                endOfText >= 0
                        ? endOfText
                        : TaskModels.endOfText(getRuntimeContext(), config.models());
        model = TaskModels.draft(getRuntimeContext(), config.models());
        drafter = new Drafter(model, eos, config.verification());
        var metrics = getRuntimeContext().getMetricGroup();
        metrics.gauge("draftMicros", () -> lastDraftMicros);
    }

    @Override
    public void processElement(LoopRound loop, Context ctx, Collector<LoopRound> out) {
        loop.round.draft(drafter);
        lastDraftMicros = loop.round.draftNanos / 1000;
        releaseFinished(loop);
        out.collect(loop);
    }

    /** Sequences the batcher marked finished in earlier rounds no longer need caches. */
    private void releaseFinished(LoopRound loop) {
        for (String id : loop.released) {
            model.release(id);
        }
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
