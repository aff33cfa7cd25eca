package io.tetris.operators.output;

import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.SingleObjectCodec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Stands before the errors sink and makes every error fit in one Kafka record of the producer's
 * {@code max.request.size}: an error is how the job reports a bad record, so it must never be one
 * itself. One that is too large (typically because it carries a huge request id) loses its
 * offending bytes, then its request id, then part of its message ({@link
 * ErrorRecords#shrinkToFit}); its code always reaches the topic.
 */
public final class ErrorSizeGuard extends ProcessFunction<GenerationError, GenerationError> {

    private static final long serialVersionUID = 1L;

    /**
     * Smallest limit the guard accepts: every error shrinks below it (a shrunk error holds a code,
     * a message of at most a few hundred bytes, and no key).
     */
    public static final int MIN_MAX_RECORD_BYTES = 4096;

    private final long maxRecordBytes;

    private transient Counter shrunk;

    /**
     * @param maxRecordBytes the errors sink's {@code max.request.size}, at least {@value
     *     #MIN_MAX_RECORD_BYTES}
     */
    public ErrorSizeGuard(long maxRecordBytes) {
        if (maxRecordBytes < MIN_MAX_RECORD_BYTES) {
            throw new IllegalArgumentException(
                    "maxRecordBytes must be >= " + MIN_MAX_RECORD_BYTES + ": " + maxRecordBytes);
        }
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public void open(OpenContext openContext) {
        shrunk = getRuntimeContext().getMetricGroup().counter("shrunkErrors");
    }

    @Override
    public void processElement(GenerationError error, Context ctx, Collector<GenerationError> out) {
        GenerationError fitted = ErrorRecords.shrinkToFit(error, this::fits);
        if (fitted != error) {
            shrunk.inc();
        }
        out.collect(fitted);
    }

    private boolean fits(GenerationError error) {
        return KafkaRecordSize.of(error.getRequestId(), SingleObjectCodec.ERROR.encode(error))
                <= maxRecordBytes;
    }
}
