package io.tetris.operators.batcher;

import io.tetris.operators.round.LoopRound;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Runs the {@link MicroBatcher} and, at the end of a bounded input, drains every replica key it
 * holds, because processing-time timers no longer fire then.
 */
public final class MicroBatcherOperator
        extends KeyedProcessOperator<Integer, GenerationRequest, LoopRound>
        implements BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private final MicroBatcher batcher;

    public MicroBatcherOperator(MicroBatcher batcher) {
        super(batcher);
        this.batcher = batcher;
    }

    @Override
    public void endInput() throws Exception {
        KeyedStateBackend<Integer> backend = getKeyedStateBackend();
        List<Integer> keys;
        try (Stream<Integer> running = backend.getKeys("running", VoidNamespace.INSTANCE);
                Stream<Integer> waiting = backend.getKeys("waiting", VoidNamespace.INSTANCE)) {
            keys = Stream.concat(running, waiting).distinct().collect(Collectors.toList());
        }
        for (Integer key : keys) {
            setCurrentKey(key);
            batcher.drain(new OperatorLoop(key));
        }
    }

    private final class OperatorLoop implements MicroBatcher.Loop {
        private final int key;

        OperatorLoop(int key) {
            this.key = key;
        }

        @Override
        public int key() {
            return key;
        }

        @Override
        public long now() {
            return getProcessingTimeService().getCurrentProcessingTime();
        }

        @Override
        public void emit(LoopRound round) {
            output.collect(new StreamRecord<>(round));
        }

        @Override
        public void token(TokenEvent event) {
            output.collect(LoopOutputs.TOKENS, new StreamRecord<>(event));
        }

        @Override
        public void result(GenerationResult result) {
            output.collect(LoopOutputs.RESULTS, new StreamRecord<>(result));
        }

        @Override
        public void error(GenerationError error) {
            output.collect(LoopOutputs.ERRORS, new StreamRecord<>(error));
        }
    }
}
