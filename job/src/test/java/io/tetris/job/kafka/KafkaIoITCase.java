package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.schemas.DecodeFailure;
import io.tetris.schemas.Decoded;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.RequestDecoder;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * The source and sinks in a real (local) Flink job: requests in as raw records, a toy "model" that
 * echoes the prompt, results through the exactly-once sink (visible only after a checkpoint commits
 * them), undecodable input through the errors sink; all read back by the client. Generic (Kryo)
 * types are disabled, so a type that needs Kryo fails the job.
 */
class KafkaIoITCase {

    @Test
    void requestsFlowThroughTheJobToCommittedResultsAndErrors() throws Exception {
        KafkaClientSettings settings = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics("kafka-io", 2);

        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        env.enableCheckpointing(200);
        DataStream<RawRecord> raw =
                env.fromSource(
                        KafkaIo.requestSource(settings, topics, "echo-job"),
                        WatermarkStrategy.noWatermarks(),
                        "requests");
        raw.filter(new Decodable(true))
                .map(new Echo())
                .returns(GenerationResult.class)
                .sinkTo(KafkaIo.resultSink(settings, topics, "echo-" + UUID.randomUUID()));
        raw.filter(new Decodable(false))
                .map(new Reject())
                .returns(GenerationError.class)
                .sinkTo(KafkaIo.errorSink(settings, topics));

        CollectingListener listener = new CollectingListener();
        try (GenerationClient client = GenerationClient.open(settings, topics, listener)) {
            // Sent before the job starts: a new consumer group must start at the earliest offset.
            client.send(Records.request("ok-1", "hello"));
            client.sendJson("{\"request_id\":\"ok-2\",\"prompt\":\"json\"}", "ok-2");
            client.sendJson("definitely not a request", "bad-1");

            JobClient job = env.executeAsync("kafka-io-echo");
            try {
                Map<String, Outcome> outcomes =
                        client.awaitAll(
                                new LinkedHashSet<>(List.of("ok-1", "ok-2", "bad-1")),
                                Duration.ofSeconds(30));

                assertThat(outcomes.get("ok-1"))
                        .isInstanceOfSatisfying(
                                Outcome.Completed.class,
                                c -> assertThat(c.result().getText()).isEqualTo("echo: hello"));
                assertThat(outcomes.get("ok-2"))
                        .isInstanceOfSatisfying(
                                Outcome.Completed.class,
                                c -> assertThat(c.result().getText()).isEqualTo("echo: json"));
                assertThat(outcomes.get("bad-1"))
                        .isInstanceOfSatisfying(
                                Outcome.Failed.class,
                                f ->
                                        assertThat(f.error().getCode())
                                                .isEqualTo(ErrorCode.UNKNOWN_FORMAT));
                assertThat(listener.results).hasSize(2);
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Keeps the records that decode ({@code true}) or those that do not. */
    private static final class Decodable implements FilterFunction<RawRecord> {
        private static final long serialVersionUID = 1L;
        private static final RequestDecoder DECODER = new RequestDecoder();
        private final boolean keepDecodable;

        Decodable(boolean keepDecodable) {
            this.keepDecodable = keepDecodable;
        }

        @Override
        public boolean filter(RawRecord record) {
            return DECODER.decode(record.value).isOk() == keepDecodable;
        }
    }

    private static final class Echo implements MapFunction<RawRecord, GenerationResult> {
        private static final long serialVersionUID = 1L;
        private static final RequestDecoder DECODER = new RequestDecoder();

        @Override
        public GenerationResult map(RawRecord record) {
            GenerationRequest request = DECODER.decode(record.value).toOptional().orElseThrow();
            return Records.result(request.getRequestId(), "echo: " + request.getPrompt());
        }
    }

    private static final class Reject implements MapFunction<RawRecord, GenerationError> {
        private static final long serialVersionUID = 1L;
        private static final RequestDecoder DECODER = new RequestDecoder();

        @Override
        public GenerationError map(RawRecord record) {
            Decoded<GenerationRequest> decoded = DECODER.decode(record.value);
            DecodeFailure failure = decoded.asFailure().orElseThrow();
            return new ErrorRecords()
                    .fromFailure(failure, record.value, System.currentTimeMillis());
        }
    }
}
