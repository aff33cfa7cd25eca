package io.tetris.operators.loop;

import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import org.apache.flink.util.OutputTag;

/** Side outputs of the decode loop ({@link ReplicaLoop}). */
public final class LoopOutputs {

    public static final OutputTag<TokenEvent> TOKENS = new OutputTag<>("tokens") {};
    public static final OutputTag<GenerationResult> RESULTS = new OutputTag<>("results") {};
    public static final OutputTag<GenerationError> ERRORS = new OutputTag<>("batcher-errors") {};

    private LoopOutputs() {}
}
