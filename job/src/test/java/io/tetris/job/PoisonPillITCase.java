package io.tetris.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.kafka.CollectingListener;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.operators.loop.TaskAttempts;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * The poison pills of issue 11: a valid request whose {@code request_id} has 900 KB, and one with a
 * 600 KB id and an empty prompt, sent between good requests on every partition. Every output record
 * carries the id twice (key and value), so unbounded they exceed the sinks' {@code
 * max.request.size} and used to stop the job for good. Now the good requests complete exactly once,
 * the bad ones get their error codes, and the job never restarts: with the default id limit
 * validation refuses them; with the limit raised so that they pass, the size guards turn whatever
 * the sinks could not write into errors.
 */
class PoisonPillITCase {

    private static final int PARTITIONS = 3;
    private static final int KB = 1024;
    private static final Duration WAIT = Duration.ofMinutes(3);

    @Test
    void hugeRequestIdsAreRefusedWhileEveryGoodRequestCompletesOnce() throws Exception {
        Run run = serve("poison-default", null);

        run.assertGoodRequestsCompletedOnceWithoutRestart();
        assertThat(run.errors)
                .extracting(GenerationError::getCode)
                .containsExactlyInAnyOrder(
                        ErrorCode.REQUEST_ID_TOO_LONG, ErrorCode.REQUEST_ID_TOO_LONG);
        assertThat(run.errors).allSatisfy(e -> assertThat(e.getRequestId()).isNull());
        assertThat(run.errors)
                .anySatisfy(e -> assertThat(e.getMessage()).contains("request_id has 921600"))
                .anySatisfy(e -> assertThat(e.getMessage()).contains("request_id has 614400"));
    }

    @Test
    void recordsTheSinksCannotWriteBecomeErrorsWhenTheIdLimitLetsHugeIdsThrough() throws Exception {
        Run run = serve("poison-raised", 1 << 20);

        run.assertGoodRequestsCompletedOnceWithoutRestart();
        assertThat(run.errors).allSatisfy(e -> assertThat(e.getRequestId()).isNull());
        // The 600 KB id passes validation; its error cannot carry the id and loses it.
        assertThat(run.errors)
                .filteredOn(e -> e.getCode() == ErrorCode.EMPTY_PROMPT)
                .singleElement()
                .satisfies(
                        e ->
                                assertThat(e.getMessage())
                                        .contains("request_id not kept")
                                        .contains("bbbb"));
        // The 900 KB one is served, but neither its token events nor its result fit a record.
        assertThat(run.errors)
                .filteredOn(e -> e.getCode() == ErrorCode.OUTPUT_TOO_LARGE)
                .anySatisfy(e -> assertThat(e.getMessage()).startsWith("the result of"))
                .anySatisfy(e -> assertThat(e.getMessage()).startsWith("the token event seq 0"));
        assertThat(run.errors)
                .extracting(GenerationError::getCode)
                .containsOnly(ErrorCode.EMPTY_PROMPT, ErrorCode.OUTPUT_TOO_LARGE);
    }

    private record Run(
            Set<String> goodIds,
            Map<String, Integer> committedResults,
            List<GenerationError> errors,
            JobStatus statusAtEnd,
            int restarts) {

        void assertGoodRequestsCompletedOnceWithoutRestart() {
            assertThat(committedResults.keySet()).isEqualTo(goodIds);
            assertThat(committedResults.values()).containsOnly(1);
            assertThat(statusAtEnd).isEqualTo(JobStatus.RUNNING);
            assertThat(restarts).as("restarts").isZero();
        }
    }

    private static Run serve(String name, Integer maxRequestIdLength) throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics(name, PARTITIONS);
        Configuration conf = BundledModelsConfig.configuration();
        conf.set(TetrisOptions.POLICY, "tetris");
        conf.set(TetrisOptions.K, 3);
        conf.set(TetrisOptions.MAX_RUNNING, 8);
        if (maxRequestIdLength != null) {
            conf.set(TetrisOptions.MAX_REQUEST_ID_LENGTH, maxRequestIdLength);
        }
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "3");
        conf.setString("restart-strategy.fixed-delay.delay", "100 ms");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        env.enableCheckpointing(300);
        Topology.build(
                env,
                TetrisConfig.from(conf),
                new Topology.Io(kafka, topics, name, "tx-" + UUID.randomUUID()));
        JobClient job = env.executeAsync(name);
        CollectingListener listener = new CollectingListener();
        Set<String> good = new LinkedHashSet<>();
        JobStatus status;
        try (GenerationClient client = GenerationClient.open(kafka, topics, listener);
                KafkaProducer<byte[], byte[]> producer =
                        new KafkaProducer<>(kafka.producerProperties())) {
            for (int p = 0; p < PARTITIONS; p++) {
                good.add(send(producer, topics, p, "before-" + p));
            }
            sendRaw(
                    producer,
                    topics,
                    0,
                    "poison-900k",
                    "{\"request_id\":\""
                            + "a".repeat(900 * KB)
                            + "\",\"prompt\":\"Hello\",\"max_new_tokens\":6}");
            sendRaw(
                    producer,
                    topics,
                    1,
                    "poison-600k",
                    "{\"request_id\":\"" + "b".repeat(600 * KB) + "\",\"prompt\":\"\"}");
            for (int p = 0; p < PARTITIONS; p++) {
                good.add(send(producer, topics, p, "after-" + p));
            }
            client.awaitAll(good, WAIT);
            Predicate<List<GenerationError>> bothBadOnesAnswered =
                    errors ->
                            errors.stream().filter(e -> e.getRequestId() == null).count()
                                    >= (maxRequestIdLength == null ? 2 : 3);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!bothBadOnesAnswered.test(listener.errors) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            status = job.getJobStatus().get();
        } finally {
            job.cancel().get();
        }
        Map<String, Integer> committed = new HashMap<>();
        for (byte[] value : TopicReader.readAll(kafka, topics.results())) {
            GenerationResult r = SingleObjectCodec.RESULT.decode(value).toOptional().orElseThrow();
            committed.merge(r.getRequestId(), 1, Integer::sum);
        }
        return new Run(
                good,
                committed,
                List.copyOf(listener.errors),
                status,
                TaskAttempts.restartsObserved(job.getJobID().toString()));
    }

    private static String send(
            KafkaProducer<byte[], byte[]> producer, TopicNames topics, int partition, String id)
            throws Exception {
        sendRaw(
                producer,
                topics,
                partition,
                id,
                "{\"request_id\":\""
                        + id
                        + "\",\"prompt\":\"Once upon a time\",\"max_new_tokens\":8}");
        return id;
    }

    private static void sendRaw(
            KafkaProducer<byte[], byte[]> producer,
            TopicNames topics,
            int partition,
            String key,
            String json)
            throws Exception {
        producer.send(
                        new ProducerRecord<>(
                                topics.requests(),
                                partition,
                                key.getBytes(StandardCharsets.UTF_8),
                                json.getBytes(StandardCharsets.UTF_8)))
                .get();
    }
}
