package io.tetris.operators.output;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.flink.util.function.SerializableFunction;

/**
 * Stands before a Kafka sink and passes on only records the sink can write: a record larger than
 * the producer's {@code max.request.size} would make the sink fail, the job restart and the same
 * record fail again, forever, while every other request waits. Such a record is replaced by an
 * {@link ErrorCode#OUTPUT_TOO_LARGE} error on {@link #TOO_LARGE}, for the errors sink, and the job
 * goes on.
 *
 * <p>Validation keeps legitimate records far below the limit (see {@link OutputBounds}); this is
 * the last line for anything it did not foresee. It measures the record exactly as the sink will
 * write it: the Avro single-object value and the request id as key.
 *
 * @param <T> the record type
 */
public final class OversizeGuard<T> extends ProcessFunction<T, T> {

    private static final long serialVersionUID = 1L;

    /** Errors for records that were not passed on. */
    public static final OutputTag<GenerationError> TOO_LARGE =
            new OutputTag<>("output-too-large") {};

    private final long maxRecordBytes;
    private final SerializableFunction<T, byte[]> encode;
    private final SerializableFunction<T, String> requestIdOf;
    private final SerializableFunction<T, String> describe;
    private final SerializableFunction<T, Long> quickBound;

    private transient ErrorRecords errors;
    private transient Counter tooLarge;

    private OversizeGuard(
            long maxRecordBytes,
            SerializableFunction<T, byte[]> encode,
            SerializableFunction<T, String> requestIdOf,
            SerializableFunction<T, String> describe,
            SerializableFunction<T, Long> quickBound) {
        if (maxRecordBytes < 1) {
            throw new IllegalArgumentException("maxRecordBytes must be >= 1: " + maxRecordBytes);
        }
        this.maxRecordBytes = maxRecordBytes;
        this.encode = Objects.requireNonNull(encode, "encode");
        this.requestIdOf = Objects.requireNonNull(requestIdOf, "requestIdOf");
        this.describe = Objects.requireNonNull(describe, "describe");
        this.quickBound = Objects.requireNonNull(quickBound, "quickBound");
    }

    /** A guard for token events, which the sink writes keyed by request id. */
    public static OversizeGuard<TokenEvent> tokens(long maxRecordBytes) {
        return new OversizeGuard<>(
                maxRecordBytes,
                event -> SingleObjectCodec.TOKEN_EVENT.encode(event),
                TokenEvent::getRequestId,
                event -> "token event seq " + event.getSeq(),
                OversizeGuard::tokenEventBound);
    }

    /**
     * Bytes a token event can take at most as a Kafka record, without encoding it: the sink encodes
     * every event anyway, and this keeps the guard from encoding each one a second time. Avro
     * writes a string as a varint length (at most 5 bytes) and at most 3 UTF-8 bytes per char, an
     * int in at most 5 bytes, an array as its items plus two block counts.
     */
    static long tokenEventBound(TokenEvent event) {
        long id = 5 + 3L * event.getRequestId().length();
        return KafkaRecordSize.OVERHEAD
                + SINGLE_OBJECT_HEADER
                + id // the key
                + id
                + 5 // seq
                + 5L * (event.getTokenIds().size() + 2)
                + 5
                + 3L * event.getText().length()
                + 1 // finished
                + 10; // finish_reason: union branch and enum symbol
    }

    /** Avro single-object encoding's marker and schema fingerprint. */
    private static final int SINGLE_OBJECT_HEADER = 10;

    /** A guard for results, which the sink writes keyed by request id. */
    public static OversizeGuard<GenerationResult> results(long maxRecordBytes) {
        return new OversizeGuard<>(
                maxRecordBytes,
                result -> SingleObjectCodec.RESULT.encode(result),
                GenerationResult::getRequestId,
                result -> "result",
                result -> Long.MAX_VALUE); // one per request: measured exactly
    }

    @Override
    public void open(OpenContext openContext) {
        // The id is kept whatever its length; the errors' own guard drops it if it cannot fit.
        errors = new ErrorRecords(0, Integer.MAX_VALUE);
        tooLarge = getRuntimeContext().getMetricGroup().counter("oversizedRecords");
    }

    @Override
    public void processElement(T record, Context ctx, Collector<T> out) {
        if (quickBound.apply(record) <= maxRecordBytes) {
            out.collect(record);
            return;
        }
        String id = requestIdOf.apply(record);
        long size = KafkaRecordSize.of(id, encode.apply(record));
        if (size <= maxRecordBytes) {
            out.collect(record);
            return;
        }
        tooLarge.inc();
        ctx.output(
                TOO_LARGE,
                errors.of(
                        ErrorCode.OUTPUT_TOO_LARGE,
                        "the "
                                + describe.apply(record)
                                + " of this request was not written: as a Kafka record it takes "
                                + size
                                + " bytes, more than the sinks' max.request.size of "
                                + maxRecordBytes
                                + ". A shorter request_id or fewer new tokens keep it smaller;"
                                + " or raise max.request.size together with the broker's"
                                + " message.max.bytes.",
                        id,
                        null,
                        ctx.timerService().currentProcessingTime()));
    }
}
