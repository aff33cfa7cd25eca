package io.tetris.job.kafka;

import static io.tetris.job.kafka.CollectingListener.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.schemas.Decoded;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.RequestDecoder;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class GenerationClientITCase {

    private static final Duration WAIT = Duration.ofSeconds(15);

    private final KafkaClientSettings settings = SharedKafka.settings();

    @Test
    void sendsRequestsThatAPlainConsumerDecodes() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("client-send", 2);
        GenerationRequest avro = Records.request("r-avro", "Once upon a time");
        String json =
                "{\"request_id\":\"r-json\",\"prompt\":\"kcat says hi\",\"max_new_tokens\":4}";

        try (GenerationClient client =
                GenerationClient.open(settings, topics, ResponseListener.ignoring())) {
            client.send(avro);
            client.sendJson(json, "r-json");
        }

        List<ConsumerRecord<byte[], byte[]>> records = readAll(topics.requests(), 2, 2);
        RequestDecoder decoder = new RequestDecoder();
        List<GenerationRequest> decoded = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            Decoded<GenerationRequest> result = decoder.decode(record.value());
            assertThat(result.isOk()).as("%s", result).isTrue();
            GenerationRequest request = result.toOptional().orElseThrow();
            assertThat(new String(record.key(), StandardCharsets.UTF_8))
                    .isEqualTo(request.getRequestId());
            decoded.add(request);
        }
        assertThat(decoded).contains(avro);
        assertThat(decoded)
                .anySatisfy(
                        r -> {
                            assertThat(r.getRequestId()).isEqualTo("r-json");
                            assertThat(r.getPrompt()).isEqualTo("kcat says hi");
                            assertThat(r.getMaxNewTokens()).isEqualTo(4);
                        });
    }

    @Test
    void refusesTextWithAnUnpairedSurrogateInsteadOfSendingAQuestionMark() {
        TopicNames topics = SharedKafka.freshTopics("client-surrogate", 1);

        try (GenerationClient client =
                GenerationClient.open(settings, topics, ResponseListener.ignoring())) {
            assertThatThrownBy(() -> client.send(Records.request("id\ud800", "Hello")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the request id contains an unpaired UTF-16 surrogate");
            assertThatThrownBy(() -> client.send(Records.request("ok", "Hello \udc00")))
                    .hasMessageContaining("the prompt");
            assertThatThrownBy(
                            () ->
                                    client.sendJson(
                                            "{\"request_id\":\"a\ud800\",\"prompt\":\"x\"}", "a"))
                    .hasMessageContaining("the JSON request");
        }
    }

    @Test
    void deliversTokenEventsOnceAndInSeqOrder() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("client-tokens", 2);
        CollectingListener listener = new CollectingListener();

        GenerationClient client = GenerationClient.open(settings, topics, listener);
        try (client;
                KafkaProducer<byte[], byte[]> producer = producer(null)) {
            int[] aSeqs = {1, 0, 1, 2, 0, 3};
            int[] bSeqs = {0, 0, 1};
            for (int i = 0; i < aSeqs.length; i++) {
                sendToken(producer, topics, Records.token("a", aSeqs[i], aSeqs[i] == 3));
                if (i < bSeqs.length) {
                    sendToken(producer, topics, Records.token("b", bSeqs[i], bSeqs[i] == 1));
                }
            }
            producer.flush();

            eventually(
                    WAIT,
                    () -> listener.tokens.stream().filter(TokenEvent::getFinished).count() == 2,
                    "the final token events of a and b");
        }

        assertThat(listener.seqsOf("a")).containsExactly(0, 1, 2, 3);
        assertThat(listener.seqsOf("b")).containsExactly(0, 1);
        assertThat(listener.tokens)
                .filteredOn(e -> e.getRequestId().equals("a"))
                .extracting(TokenEvent::getText)
                .containsExactly("t0", "t1", "t2", "t3");
    }

    @Test
    void aScopedClientAttendsOnlyToWhatItSentAndForgetsItCompletely() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("client-scoped", 1);
        CollectingListener listener = new CollectingListener();

        try (GenerationClient client = GenerationClient.openScoped(settings, topics, listener);
                KafkaProducer<byte[], byte[]> producer = producer(null);
                KafkaProducer<byte[], byte[]> tx = producer("scoped-test-tx")) {
            client.send(Records.request("mine", "Hello"));
            assertThat(client.heldRequests()).isEqualTo(1);

            // Someone else's request on the same topics, then the answer to ours.
            sendToken(producer, topics, Records.token("theirs", 0, false));
            sendToken(producer, topics, Records.token("mine", 0, false));
            producer.send(
                    new ProducerRecord<>(
                            topics.errors(),
                            "theirs".getBytes(StandardCharsets.UTF_8),
                            SingleObjectCodec.ERROR.encode(
                                    Records.error("theirs", ErrorCode.QUEUE_FULL, null))));
            tx.initTransactions();
            tx.beginTransaction();
            tx.send(resultRecord(topics, "theirs"));
            tx.send(resultRecord(topics, "mine"));
            tx.commitTransaction();
            producer.flush();

            assertThat(client.awaitAll(Set.of("mine"), WAIT)).containsKey("mine");
            assertThat(listener.tokens).extracting(TokenEvent::getRequestId).containsOnly("mine");
            assertThat(listener.results).extracting(r -> r.getRequestId()).containsOnly("mine");
            assertThat(listener.errors).isEmpty();
            assertThat(client.outcome("theirs")).isEmpty();

            client.forget("mine");
            assertThat(client.heldRequests()).isZero();
            assertThat(client.outcome("mine")).isEmpty();

            // Late or replayed records of a forgotten id create no state and reach no one.
            sendToken(producer, topics, Records.token("mine", 1, true));
            sendToken(producer, topics, Records.token("mine", 0, false));
            producer.flush();
            client.send(Records.request("marker", "Hi"));
            sendToken(producer, topics, Records.token("marker", 0, true));
            producer.flush();
            eventually(
                    WAIT,
                    () -> listener.tokens.stream().anyMatch(e -> e.getRequestId().equals("marker")),
                    "the marker's token event");
            assertThat(listener.seqsOf("mine")).containsExactly(0);
            client.forget("marker");
            assertThat(client.heldRequests()).isZero();
        }
    }

    @Test
    void deliversOnlyCommittedResults() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("client-results", 1);
        CollectingListener listener = new CollectingListener();

        try (GenerationClient client = GenerationClient.open(settings, topics, listener);
                KafkaProducer<byte[], byte[]> tx = producer("results-test-tx")) {
            tx.initTransactions();
            tx.beginTransaction();
            tx.send(resultRecord(topics, "aborted-1"));
            tx.flush();
            tx.abortTransaction();
            tx.beginTransaction();
            tx.send(resultRecord(topics, "committed-1"));
            tx.commitTransaction();

            Map<String, Outcome> outcomes = client.awaitAll(Set.of("committed-1"), WAIT);

            assertThat(outcomes.get("committed-1"))
                    .isInstanceOfSatisfying(
                            Outcome.Completed.class,
                            c -> assertThat(c.result().getText()).isEqualTo("text of committed-1"));
            // Both went to the one partition, the aborted one first: it was skipped, not pending.
            assertThat(listener.results)
                    .extracting(r -> r.getRequestId())
                    .containsExactly("committed-1");
            assertThat(client.outcome("aborted-1")).isEmpty();
        }
    }

    @Test
    void deliversErrorsAndAttributesThoseWithoutARequestId() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("client-errors", 1);
        CollectingListener listener = new CollectingListener();
        String badJson = "{\"request_id\": \"bad-json\", oops";
        byte[] badBytes = badJson.getBytes(StandardCharsets.UTF_8);

        try (GenerationClient client = GenerationClient.open(settings, topics, listener);
                KafkaProducer<byte[], byte[]> producer = producer(null)) {
            client.sendJson(badJson, "bad-json");
            // What the job writes: errors without a key when it could not read the id.
            sendError(
                    producer,
                    topics,
                    null,
                    Records.error(null, ErrorCode.UNKNOWN_FORMAT, new byte[] {9}));
            producer.send(new ProducerRecord<>(topics.errors(), 0, null, new byte[] {1, 2, 3}));
            sendError(
                    producer,
                    topics,
                    null,
                    Records.error(null, ErrorCode.MALFORMED_JSON, badBytes));
            sendError(
                    producer,
                    topics,
                    "rejected-1",
                    Records.error("rejected-1", ErrorCode.EMPTY_PROMPT, null));
            producer.flush();

            Map<String, Outcome> outcomes =
                    client.awaitAll(new LinkedHashSet<>(List.of("bad-json", "rejected-1")), WAIT);

            assertThat(outcomes.keySet()).containsExactly("bad-json", "rejected-1");
            assertThat(outcomes.get("bad-json"))
                    .isInstanceOfSatisfying(
                            Outcome.Failed.class,
                            f -> {
                                assertThat(f.error().getCode()).isEqualTo(ErrorCode.MALFORMED_JSON);
                                assertThat(f.error().getRequestId()).isEqualTo("bad-json");
                            });
            assertThat(outcomes.get("rejected-1"))
                    .isInstanceOfSatisfying(
                            Outcome.Failed.class,
                            f -> assertThat(f.error().getCode()).isEqualTo(ErrorCode.EMPTY_PROMPT));
            assertThat(listener.errors)
                    .extracting(GenerationError::getRequestId)
                    .containsExactly(null, "bad-json", "rejected-1");
            assertThat(listener.undecodable)
                    .singleElement()
                    .satisfies(f -> assertThat(f.code()).isEqualTo(ErrorCode.UNKNOWN_FORMAT));
        }
    }

    @Test
    void awaitAllTimesOutListingTheMissingIdsAndOlderAnswersDoNotLeakIn() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("client-timeout", 1);
        try (KafkaProducer<byte[], byte[]> producer = producer(null)) {
            producer.send(resultRecord(topics, "old-1")).get();

            GenerationClient client =
                    GenerationClient.open(settings, topics, ResponseListener.ignoring());
            try {
                producer.send(resultRecord(topics, "new-1")).get();
                assertThat(client.awaitAll(Set.of("new-1"), WAIT)).containsKey("new-1");

                long start = System.nanoTime();
                assertThatThrownBy(
                                () ->
                                        client.awaitAll(
                                                Set.of("old-1", "new-1", "never-1"),
                                                Duration.ofMillis(300)))
                        .isInstanceOf(TimeoutException.class)
                        .hasMessageContaining("2 of 3 request(s): never-1, old-1")
                        .hasMessageNotContaining("new-1");
                assertThat(Duration.ofNanos(System.nanoTime() - start))
                        .isBetween(Duration.ofMillis(250), Duration.ofSeconds(5));
            } finally {
                client.close();
            }
            assertThatThrownBy(() -> client.awaitAll(Set.of("new-1"), WAIT))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
    }

    @Test
    void openFailsClearlyWhenAResponseTopicIsMissing() {
        TopicNames absent = TopicNames.withPrefix("never-created");

        assertThatThrownBy(
                        () -> GenerationClient.open(settings, absent, ResponseListener.ignoring()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'never-created.tokens' does not exist");
    }

    // ------------------------------------------------------------------------------------------

    private KafkaProducer<byte[], byte[]> producer(String transactionalId) {
        Properties props = settings.producerProperties();
        if (transactionalId != null) {
            props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return new KafkaProducer<>(props);
    }

    private static void sendToken(
            KafkaProducer<byte[], byte[]> producer, TopicNames topics, TokenEvent event) {
        producer.send(
                new ProducerRecord<>(
                        topics.tokens(),
                        event.getRequestId().getBytes(StandardCharsets.UTF_8),
                        SingleObjectCodec.TOKEN_EVENT.encode(event)));
    }

    private static void sendError(
            KafkaProducer<byte[], byte[]> producer,
            TopicNames topics,
            String key,
            GenerationError error) {
        producer.send(
                new ProducerRecord<>(
                        topics.errors(),
                        0,
                        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                        SingleObjectCodec.ERROR.encode(error)));
    }

    private static ProducerRecord<byte[], byte[]> resultRecord(TopicNames topics, String id) {
        return new ProducerRecord<>(
                topics.results(),
                0,
                id.getBytes(StandardCharsets.UTF_8),
                SingleObjectCodec.RESULT.encode(Records.result(id, "text of " + id)));
    }

    private List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int partitions, int count)
            throws InterruptedException {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(settings.consumerProperties(null))) {
            List<TopicPartition> assigned = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                assigned.add(new TopicPartition(topic, p));
            }
            consumer.assign(assigned);
            consumer.seekToBeginning(assigned);
            eventually(
                    WAIT,
                    () -> {
                        consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                        return records.size() >= count;
                    },
                    count + " records on " + topic);
        }
        return records;
    }
}
