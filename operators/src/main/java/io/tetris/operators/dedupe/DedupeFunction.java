package io.tetris.operators.dedupe;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * One execution per request_id, keyed by the id: a request whose id was accepted within the
 * retention gets a {@code DUPLICATE_REQUEST_ID} error instead of running again, so (request_id,
 * seq) keeps naming one execution. The ids live in checkpointed keyed state with a time-to-live, so
 * the check holds across restarts and memory stays bounded by rate x retention.
 *
 * <p>After a fallback to an older checkpoint, requests whose results were committed after it
 * ({@link AnsweredIds}) come back from the source: they are recorded as accepted and dropped
 * silently, because they are replays, not new requests.
 *
 * <p>Why an error and not the original result again: re-emitting would keep every result in state
 * for the whole retention; the result is on the results topic already.
 */
public final class DedupeFunction
        extends KeyedProcessFunction<String, GenerationRequest, GenerationRequest> {

    private static final long serialVersionUID = 1L;

    public static final OutputTag<GenerationError> ERRORS = new OutputTag<>("duplicate-ids") {};

    // ----- configuration -----
    private final Duration retention;
    private final String answeredIdsFile;

    // ----- runtime -----
    private transient ValueState<Long> acceptedAtMs;
    private transient Counter duplicates;
    private transient Counter replaysDropped;
    private transient AnsweredIds answered;

    public DedupeFunction(Duration retention) {
        this(retention, "");
    }

    /**
     * @param answeredIdsFile ids answered after the checkpoint a fallback resumed from ({@link
     *     AnsweredIds}), or empty
     */
    public DedupeFunction(Duration retention, String answeredIdsFile) {
        this.retention = Objects.requireNonNull(retention, "retention");
        this.answeredIdsFile = Objects.requireNonNull(answeredIdsFile, "answeredIdsFile");
        if (retention.isZero() || retention.isNegative()) {
            throw new IllegalArgumentException("retention must be positive, was " + retention);
        }
    }

    @Override
    public void open(OpenContext openContext) {
        ValueStateDescriptor<Long> descriptor =
                new ValueStateDescriptor<>("accepted-at-ms", Types.LONG);
        descriptor.enableTimeToLive(
                StateTtlConfig.newBuilder(retention)
                        .updateTtlOnCreateAndWrite()
                        .neverReturnExpired()
                        // Expired ids leave the heap as ids are looked up and leave snapshots.
                        .cleanupIncrementally(10, false)
                        .cleanupFullSnapshot()
                        .build());
        acceptedAtMs = getRuntimeContext().getState(descriptor);
        duplicates = getRuntimeContext().getMetricGroup().counter("duplicateRequests");
        replaysDropped = getRuntimeContext().getMetricGroup().counter("answeredReplaysDropped");
        answered = AnsweredIds.load(answeredIdsFile);
    }

    @Override
    public void processElement(
            GenerationRequest request, Context ctx, Collector<GenerationRequest> out)
            throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        Long first = acceptedAtMs.value();
        if (first == null) {
            acceptedAtMs.update(now);
            if (answered.contains(request.getRequestId())) {
                replaysDropped.inc();
                return;
            }
            out.collect(request);
            return;
        }
        duplicates.inc();
        ctx.output(
                ERRORS,
                GenerationError.newBuilder()
                        .setRequestId(request.getRequestId())
                        .setCode(ErrorCode.DUPLICATE_REQUEST_ID)
                        .setMessage(
                                "request_id was already accepted at "
                                        + Instant.ofEpochMilli(first)
                                        + "; ids are remembered for "
                                        + retention
                                        + " (tetris.requests.id-retention), use a new id")
                        .setAtMs(now)
                        .build());
    }
}
