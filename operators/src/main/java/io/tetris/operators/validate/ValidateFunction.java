package io.tetris.operators.validate;

import io.tetris.engine.RequestValidator;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.operators.TaskModels;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.Decoded;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and validates raw request values from Kafka. Good requests continue with their prompt
 * tokenized; anything else becomes one {@link GenerationError} on the side output, with a code and
 * the offending bytes, and the job keeps running.
 */
public final class ValidateFunction extends ProcessFunction<byte[], GenerationRequest> {

    private static final long serialVersionUID = 1L;

    public static final OutputTag<GenerationError> ERRORS = new OutputTag<>("invalid-requests") {};

    // ----- configuration -----
    private final TetrisConfig config;

    // ----- runtime -----
    private transient HuggingFaceTextTokenizer tokenizer;
    private transient RequestValidator validator;
    private transient ErrorRecords errors;
    private transient Counter accepted;
    private transient Counter rejected;

    public ValidateFunction(TetrisConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public void open(OpenContext openContext) {
        tokenizer = TaskModels.tokenizer(getRuntimeContext(), config.models());
        validator =
                new RequestValidator(
                        tokenizer, config.limits(), config.models().onnx().maxContext());
        errors =
                new ErrorRecords(
                        ErrorRecords.DEFAULT_MAX_STORED_PAYLOAD_BYTES,
                        config.limits().maxRequestIdLength());
        accepted = getRuntimeContext().getMetricGroup().counter("acceptedRequests");
        rejected = getRuntimeContext().getMetricGroup().counter("rejectedRequests");
    }

    @Override
    public void processElement(byte[] value, Context ctx, Collector<GenerationRequest> out) {
        Decoded<GenerationRequest> result = validator.validate(value);
        if (result instanceof Decoded.Ok<GenerationRequest> ok) {
            accepted.inc();
            out.collect(ok.value());
        } else {
            rejected.inc();
            ctx.output(
                    ERRORS,
                    errors.fromFailure(
                            result.asFailure().orElseThrow(),
                            value,
                            ctx.timerService().currentProcessingTime()));
        }
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
