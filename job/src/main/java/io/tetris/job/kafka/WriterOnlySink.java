package io.tetris.job.kafka;

import java.io.IOException;
import java.util.Objects;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.kafka.sink.KafkaSink;

/**
 * An at-least-once {@link KafkaSink} without its committer: only the writer runs, and Flink flushes
 * it before each checkpoint barrier passes, which is all at-least-once needs.
 *
 * <p>{@link KafkaSink} always adds a committer operator, even when it has nothing to commit.
 * Flink's committer copies its committable collector at every checkpoint, and each copy registers
 * the operator's {@code pendingCommittables} gauge again, which the metric group rejects with a
 * "Name collision" warning: one per committer per checkpoint. The token and error sinks have
 * nothing to commit, so they go without one; only the exactly-once result sink keeps its committer.
 */
public final class WriterOnlySink<T> implements Sink<T> {

    private static final long serialVersionUID = 1L;

    private final KafkaSink<T> delegate;

    public WriterOnlySink(KafkaSink<T> delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
        return delegate.createWriter(context);
    }
}
