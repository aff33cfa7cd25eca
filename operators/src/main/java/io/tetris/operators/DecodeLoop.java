package io.tetris.operators;

import io.tetris.model.ModelCheck;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.dedupe.DedupeFunction;
import io.tetris.operators.loop.LoopOutputs;
import io.tetris.operators.loop.ReplicaLoop;
import io.tetris.operators.loop.ReplicaLoopOperator;
import io.tetris.operators.validate.ValidateFunction;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.nio.file.Paths;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * Wires validation and the decode loop onto a stream of raw request values, as named steps:
 * validate, one execution per request id, route to a replica, then the replica's loop (batch,
 * draft, window, verify: one keyed operator, see {@link ReplicaLoop} and docs/architecture.md).
 */
public final class DecodeLoop {

    /** Max parallelism of the loop: the most replicas a savepoint can be rescaled to. */
    public static final int MAX_REPLICAS = 128;

    /** What the loop produces. */
    public record Outputs(
            DataStream<TokenEvent> tokens,
            DataStream<GenerationResult> results,
            DataStream<GenerationError> errors) {}

    private DecodeLoop() {}

    /**
     * Adds validation and the loop. The model files are checked here unless {@link
     * TetrisConfig.Models#checkAtSubmit()} is off (files only on the TaskManagers); each
     * TaskManager finds them when its tasks open.
     */
    public static Outputs attach(DataStream<byte[]> requests, TetrisConfig config) {
        return attach(requests, config, -1);
    }

    /** {@link #attach(DataStream, TetrisConfig)} with the end-of-text token given. */
    public static Outputs attach(DataStream<byte[]> requests, TetrisConfig config, int endOfText) {
        int replicas = config.batch().replicas();
        if (config.models().checkAtSubmit()) {
            ModelCheck.requireCompatible(
                    Paths.get(config.models().draft()),
                    Paths.get(config.models().target()),
                    Paths.get(config.models().draftTokenizer()),
                    Paths.get(config.models().tokenizer()));
        }

        SingleOutputStreamOperator<GenerationRequest> valid =
                requests.process(new ValidateFunction(config))
                        .name(OperatorNames.VALIDATE)
                        .uid(OperatorNames.VALIDATE_UID);

        DataStream<GenerationRequest> admitted = valid;
        DataStream<GenerationError> duplicates = null;
        if (!config.requestIdRetention().isZero()) {
            SingleOutputStreamOperator<GenerationRequest> once =
                    valid.keyBy(GenerationRequest::getRequestId)
                            .process(
                                    new DedupeFunction(
                                            config.requestIdRetention(), config.answeredIds()))
                            .name(OperatorNames.DEDUPE)
                            .uid(OperatorNames.DEDUPE_UID)
                            .setParallelism(replicas)
                            .setMaxParallelism(MAX_REPLICAS);
            admitted = once;
            duplicates = once.getSideOutput(DedupeFunction.ERRORS);
        }

        SingleOutputStreamOperator<Void> loop =
                admitted.keyBy(new ReplicaKeys(replicas, MAX_REPLICAS))
                        .transform(
                                OperatorNames.LOOP,
                                Types.VOID,
                                new ReplicaLoopOperator(new ReplicaLoop(config, endOfText)))
                        .uid(OperatorNames.LOOP_UID)
                        .setParallelism(replicas)
                        .setMaxParallelism(MAX_REPLICAS);

        DataStream<GenerationError> errors =
                valid.getSideOutput(ValidateFunction.ERRORS)
                        .union(loop.getSideOutput(LoopOutputs.ERRORS));
        if (duplicates != null) {
            errors = errors.union(duplicates);
        }
        return new Outputs(
                loop.getSideOutput(LoopOutputs.TOKENS),
                loop.getSideOutput(LoopOutputs.RESULTS),
                errors);
    }
}
