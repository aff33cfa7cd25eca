package io.tetris.job;

import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.KafkaIo;
import io.tetris.job.kafka.RawRecord;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.Vocabulary;
import io.tetris.operators.DecodeLoop;
import io.tetris.operators.OperatorNames;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.output.ErrorSizeGuard;
import io.tetris.operators.output.OutputBounds;
import io.tetris.operators.output.OversizeGuard;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Objects;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole job, wired in one place as named steps: Kafka requests in, validation and the decode
 * loop, token events, results and errors out, each sink behind a size guard that keeps records it
 * could not write away from it (they become errors instead of failing the job).
 */
public final class Topology {

    private static final Logger LOG = LoggerFactory.getLogger(Topology.class);

    /**
     * Where the job reads and writes.
     *
     * @param kafka brokers and client properties (security settings pass through)
     * @param topics topic names
     * @param groupId consumer group of the request source
     * @param transactionalIdPrefix prefix of the exactly-once result producer's transactions
     */
    public record Io(
            KafkaClientSettings kafka,
            TopicNames topics,
            String groupId,
            String transactionalIdPrefix) {
        public Io {
            Objects.requireNonNull(kafka, "kafka");
            Objects.requireNonNull(topics, "topics");
            Objects.requireNonNull(groupId, "groupId");
            Objects.requireNonNull(transactionalIdPrefix, "transactionalIdPrefix");
        }
    }

    private Topology() {}

    /** Adds the job to {@code env}. */
    public static void build(StreamExecutionEnvironment env, TetrisConfig config, Io io) {
        // Records pass between chained operators by reference: none is changed once emitted.
        env.getConfig().enableObjectReuse();
        if (env.getConfiguration().getOptional(ExecutionOptions.BUFFER_TIMEOUT).isEmpty()) {
            // Token events stream to users: each is flushed at once instead of after Flink's
            // default 100 ms buffer timeout (measured with bench serve: TTFT p50 211 -> 35 ms on
            // the bundled pair). A decode loop emits thousands of records a second at most.
            env.setBufferTimeout(0);
        }
        int maxRecordBytes = KafkaIo.maxRecordBytes(io.kafka());
        int endOfText = -1; // read by each TaskManager from its tokenizer
        Path tokenizer = Paths.get(config.models().tokenizer());
        if (Files.isRegularFile(tokenizer)) {
            Vocabulary vocabulary = Vocabulary.read(tokenizer);
            warnIfLimitsExceed(
                    OutputBounds.of(config, vocabulary.longestTokenBytes()), maxRecordBytes);
            endOfText = vocabulary.endOfTextId();
        } else {
            LOG.info(
                    "The tokenizer {} is only on the TaskManagers: no check here that the limits"
                            + " fit the sinks' max.request.size (the size guards still turn"
                            + " oversized records into errors).",
                    tokenizer);
        }

        DataStream<byte[]> requests = readRequests(env, io);
        DecodeLoop.Outputs outputs = DecodeLoop.attach(requests, config, endOfText);
        SingleOutputStreamOperator<TokenEvent> tokens =
                guard(
                        outputs.tokens(),
                        OversizeGuard.tokens(maxRecordBytes),
                        OperatorNames.TOKENS_GUARD,
                        OperatorNames.TOKENS_GUARD_UID);
        SingleOutputStreamOperator<GenerationResult> results =
                guard(
                        outputs.results(),
                        OversizeGuard.results(maxRecordBytes),
                        OperatorNames.RESULTS_GUARD,
                        OperatorNames.RESULTS_GUARD_UID);
        DataStream<GenerationError> errors =
                guard(
                        outputs.errors()
                                .union(
                                        tokens.getSideOutput(OversizeGuard.TOO_LARGE),
                                        results.getSideOutput(OversizeGuard.TOO_LARGE)),
                        new ErrorSizeGuard(maxRecordBytes),
                        OperatorNames.ERRORS_GUARD,
                        OperatorNames.ERRORS_GUARD_UID);
        writeTokens(tokens, io);
        writeResults(results, io);
        writeErrors(errors, io);
    }

    /**
     * Puts a size guard in front of a sink. The guard starts the sink's task and the sink is
     * chained to it, so records are measured off the decode loop's thread and cross no extra
     * network hop.
     */
    private static <T> SingleOutputStreamOperator<T> guard(
            DataStream<T> records, ProcessFunction<T, T> guard, String name, String uid) {
        return records.process(guard, records.getType()).name(name).uid(uid).startNewChain();
    }

    /**
     * Says at start when the configured limits allow output records that the sinks cannot write; a
     * warning, not a failure, because the size guards turn such records into errors.
     */
    private static void warnIfLimitsExceed(OutputBounds bounds, int maxRecordBytes) {
        if (bounds.largest() > maxRecordBytes) {
            LOG.warn(
                    "The configured limits allow output records of up to {} bytes (token event {},"
                            + " result {}, error {}), more than the sinks' max.request.size of {}"
                            + " bytes; larger records become OUTPUT_TOO_LARGE errors. Lower"
                            + " tetris.limits.max-request-id-length, tetris.limits.max-new-tokens"
                            + " or tetris.model.max-context, or raise the broker's"
                            + " message.max.bytes and pass max.request.size as a Kafka property.",
                    bounds.largest(),
                    bounds.tokenEvent(),
                    bounds.result(),
                    bounds.error(),
                    maxRecordBytes);
        }
    }

    private static DataStream<byte[]> readRequests(StreamExecutionEnvironment env, Io io) {
        return env.fromSource(
                        KafkaIo.requestSource(io.kafka(), io.topics(), io.groupId()),
                        WatermarkStrategy.noWatermarks(),
                        OperatorNames.SOURCE)
                .uid(OperatorNames.SOURCE_UID)
                .map(Topology::valueOf)
                .returns(PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .name("request-values")
                .uid("tetris-request-values");
    }

    private static byte[] valueOf(RawRecord record) {
        return record.value == null ? new byte[0] : record.value;
    }

    // The sinks run in their own tasks, behind their guards: Kafka sends, flushes and transaction
    // commits then happen off the decode loop's thread instead of stalling its rounds.

    private static void writeTokens(DataStream<TokenEvent> tokens, Io io) {
        tokens.sinkTo(KafkaIo.tokenSink(io.kafka(), io.topics()))
                .name(OperatorNames.TOKENS_SINK)
                .uid(OperatorNames.TOKENS_SINK_UID);
    }

    private static void writeResults(DataStream<GenerationResult> results, Io io) {
        results.sinkTo(KafkaIo.resultSink(io.kafka(), io.topics(), io.transactionalIdPrefix()))
                .name(OperatorNames.RESULTS_SINK)
                .uid(OperatorNames.RESULTS_SINK_UID);
    }

    private static void writeErrors(DataStream<GenerationError> errors, Io io) {
        errors.sinkTo(KafkaIo.errorSink(io.kafka(), io.topics()))
                .name(OperatorNames.ERRORS_SINK)
                .uid(OperatorNames.ERRORS_SINK_UID);
    }
}
