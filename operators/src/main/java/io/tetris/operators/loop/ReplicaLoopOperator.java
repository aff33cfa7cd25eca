package io.tetris.operators.loop;

import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Runs the {@link ReplicaLoop}: at each checkpoint it writes what every replica's policy learned
 * into that replica's keyed state, and at the end of a bounded input it drains every replica key it
 * holds, because processing-time timers no longer fire then.
 */
public final class ReplicaLoopOperator
        extends KeyedProcessOperator<Integer, GenerationRequest, Void> implements BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private final ReplicaLoop loop;

    public ReplicaLoopOperator(ReplicaLoop loop) {
        super(loop);
        this.loop = loop;
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        // Before the keyed state backend takes its snapshot, which follows this call.
        Object current = getCurrentKey();
        for (int key : loop.replicaKeys()) {
            setCurrentKey(key);
            loop.saveLearned(key);
        }
        if (current != null) {
            setCurrentKey(current);
        }
    }

    /** What replica {@code key}'s policy has learned (for tests). */
    byte[] learned(int key) throws Exception {
        Object current = getCurrentKey();
        setCurrentKey(key);
        try {
            return loop.learnedOf(key);
        } finally {
            if (current != null) {
                setCurrentKey(current);
            }
        }
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
            loop.drain(new OperatorLoop(key));
        }
    }

    private final class OperatorLoop implements ReplicaLoop.Loop {
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
