package io.tetris.job;

import io.tetris.config.TetrisConfig;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.KafkaIo;
import io.tetris.job.kafka.RawRecord;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.DecodeLoop;
import io.tetris.operators.LoopChainCheck;
import io.tetris.operators.OperatorNames;
import java.util.Objects;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The whole job, wired in one place as named steps: Kafka requests in, validation and the decode
 * loop, token events, results and errors out.
 */
public final class Topology {

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
        // Rounds are handed between the chained loop operators by reference, never copied.
        env.getConfig().enableObjectReuse();
        DataStream<byte[]> requests = readRequests(env, io);
        DecodeLoop.Outputs outputs = DecodeLoop.attach(requests, config);
        writeTokens(outputs, io);
        writeResults(outputs, io);
        writeErrors(outputs, io);
    }

    /** Fails with what to change when the built job would split the decode loop. */
    public static void checkChained(StreamExecutionEnvironment env) {
        LoopChainCheck.verify(env.getStreamGraph(false).getJobGraph());
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

    // The sinks run in their own tasks: Kafka sends, flushes and transaction commits then happen
    // off the decode loop's thread instead of stalling its rounds.

    private static void writeTokens(DecodeLoop.Outputs outputs, Io io) {
        outputs.tokens()
                .sinkTo(KafkaIo.tokenSink(io.kafka(), io.topics()))
                .name(OperatorNames.TOKENS_SINK)
                .uid(OperatorNames.TOKENS_SINK_UID)
                .disableChaining();
    }

    private static void writeResults(DecodeLoop.Outputs outputs, Io io) {
        outputs.results()
                .sinkTo(KafkaIo.resultSink(io.kafka(), io.topics(), io.transactionalIdPrefix()))
                .name(OperatorNames.RESULTS_SINK)
                .uid(OperatorNames.RESULTS_SINK_UID)
                .disableChaining();
    }

    private static void writeErrors(DecodeLoop.Outputs outputs, Io io) {
        outputs.errors()
                .sinkTo(KafkaIo.errorSink(io.kafka(), io.topics()))
                .name(OperatorNames.ERRORS_SINK)
                .uid(OperatorNames.ERRORS_SINK_UID)
                .disableChaining();
    }
}
