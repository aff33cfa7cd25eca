package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.job.TopicReader;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicNames;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.RequestDecoder;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gateway on topics that no job serves: what it answers by itself (routes, refusals, limits)
 * and what happens when the job never answers (504, nothing kept).
 */
class GatewayRoutesITCase {

    private static final String MODEL = "idle-model";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Gateway gateway;
    private static OpenAiNodeClient openai;

    @BeforeAll
    static void start() {
        TopicNames topics = SharedKafka.freshTopics("gateway-idle", 1);
        gateway =
                Gateway.start(
                        new GatewayConfig(
                                "127.0.0.1", 0, MODEL, Duration.ofMillis(1500), 1, 16, 4096),
                        SharedKafka.settings(),
                        topics);
        openai = new OpenAiNodeClient(gateway.baseUrl());
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void noAnswerInTimeIs504ForWholeAndStreamedRequestsAndNothingIsKept() throws Exception {
        long timedOut = gateway.stats().timedOut();
        for (String stream : new String[] {"false", "true"}) {
            JsonNode error =
                    openai.run(
                            "error",
                            "{\"model\": \""
                                    + MODEL
                                    + "\", \"prompt\": \"Hi\", \"stream\": "
                                    + stream
                                    + "}");
            assertThat(error.get("status").asInt()).as("%s", error).isEqualTo(504);
            assertThat(error.get("code").asText()).isEqualTo("TIMEOUT");
        }
        assertThat(gateway.stats().timedOut()).isEqualTo(timedOut + 2);
        GatewayITCase.awaitTrue(() -> gateway.inFlight() == 0);
        assertThat(gateway.heldByClient()).isZero();
    }

    /**
     * This test plays the job: it answers the gateway's request with a first token event by hand,
     * then with nothing (the timeout) or with an error, so that the stream has begun for certain.
     */
    @Test
    void aTimeoutOrAnErrorAfterTheFirstTokenEndsTheStreamWithAnErrorEvent() throws Exception {
        TopicNames topics = SharedKafka.freshTopics("gateway-midstream", 1);
        try (Gateway streaming =
                        Gateway.start(
                                GatewayConfig.of(0, MODEL, Duration.ofSeconds(6)),
                                SharedKafka.settings(),
                                topics);
                KafkaProducer<byte[], byte[]> job =
                        new KafkaProducer<>(SharedKafka.settings().producerProperties())) {
            OpenAiNodeClient client = new OpenAiNodeClient(streaming.baseUrl());
            for (String ending : new String[] {"timeout", "error"}) {
                CompletableFuture<JsonNode> call =
                        CompletableFuture.supplyAsync(
                                () ->
                                        client.runUnchecked(
                                                "error",
                                                "{\"model\": \""
                                                        + MODEL
                                                        + "\", \"prompt\": \""
                                                        + ending
                                                        + "\", \"stream\": true}"));
                String id = awaitRequest(topics, ending);
                send(
                        job,
                        topics.tokens(),
                        id,
                        SingleObjectCodec.TOKEN_EVENT.encode(firstToken(id)));
                if (ending.equals("error")) {
                    send(
                            job,
                            topics.errors(),
                            id,
                            SingleObjectCodec.ERROR.encode(
                                    new ErrorRecords()
                                            .of(
                                                    ErrorCode.OUTPUT_TOO_LARGE,
                                                    "too large",
                                                    id,
                                                    null,
                                                    1L)));
                }
                JsonNode error = call.get(60, TimeUnit.SECONDS);
                // Headers went out with the first token: the client meets the error in the
                // stream, without an HTTP status.
                assertThat(error.get("status").isNull()).as("%s", error).isTrue();
                assertThat(error.get("code").asText())
                        .isEqualTo(ending.equals("timeout") ? "TIMEOUT" : "OUTPUT_TOO_LARGE");
            }
            assertThat(streaming.stats().timedOut()).isEqualTo(1);
            assertThat(streaming.stats().failed()).isEqualTo(1);
            GatewayITCase.awaitTrue(
                    () -> streaming.inFlight() == 0 && streaming.heldByClient() == 0);
        }
    }

    private static String awaitRequest(TopicNames topics, String prompt) throws Exception {
        RequestDecoder decoder = new RequestDecoder();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            for (byte[] value : TopicReader.readAll(SharedKafka.settings(), topics.requests())) {
                GenerationRequest request = decoder.decode(value).toOptional().orElseThrow();
                if (request.getPrompt().equals(prompt)) {
                    return request.getRequestId();
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the gateway sent no request with prompt " + prompt);
    }

    private static TokenEvent firstToken(String id) {
        return TokenEvent.newBuilder()
                .setRequestId(id)
                .setSeq(0)
                .setTokenIds(List.of(72, 105))
                .setText("Hi")
                .setFinished(false)
                .build();
    }

    private static void send(
            KafkaProducer<byte[], byte[]> producer, String topic, String id, byte[] value)
            throws Exception {
        producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value))
                .get();
    }

    @Test
    void moreRequestsThanMaxInFlightGet429GatewayBusy() throws Exception {
        CompletableFuture<HttpResponse<String>> first =
                HTTP.sendAsync(
                        post("{\"model\": \"" + MODEL + "\", \"prompt\": \"one\"}"),
                        HttpResponse.BodyHandlers.ofString());
        GatewayITCase.awaitTrue(() -> gateway.inFlight() == 1);
        HttpResponse<String> second =
                send(post("{\"model\": \"" + MODEL + "\", \"prompt\": \"2\"}"));
        assertThat(second.statusCode()).isEqualTo(429);
        assertThat(code(second)).isEqualTo("GATEWAY_BUSY");
        assertThat(first.get().statusCode()).isEqualTo(504);
        GatewayITCase.awaitTrue(() -> gateway.inFlight() == 0);
    }

    @Test
    void modelsListsTheServedModelAndNamesOthersUnknown() throws Exception {
        JsonNode list = MAPPER.readTree(send(get("/v1/models")).body());
        assertThat(list.get("object").asText()).isEqualTo("list");
        assertThat(list.get("data")).hasSize(1);
        assertThat(list.get("data").get(0).get("id").asText()).isEqualTo(MODEL);
        assertThat(list.get("data").get(0).get("object").asText()).isEqualTo("model");

        HttpResponse<String> one = send(get("/v1/models/" + MODEL));
        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(MAPPER.readTree(one.body()).get("id").asText()).isEqualTo(MODEL);
        HttpResponse<String> other = send(get("/v1/models/gpt-4"));
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(code(other)).isEqualTo("MODEL_NOT_FOUND");
    }

    @Test
    void malformedRequestsAreRefusedWithoutReachingKafka() throws Exception {
        HttpResponse<String> notJson = send(post("{\"model\": "));
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(code(notJson)).isEqualTo("INVALID_JSON");

        HttpResponse<String> wrongType =
                send(
                        post(
                                "{\"model\": \""
                                        + MODEL
                                        + "\", \"prompt\": \"x\", \"max_tokens\": \"8\"}"));
        assertThat(wrongType.statusCode()).isEqualTo(400);
        assertThat(code(wrongType)).isEqualTo("INVALID_PARAMETER");
        assertThat(MAPPER.readTree(wrongType.body()).get("error").get("param").asText())
                .isEqualTo("max_tokens");

        HttpResponse<String> tooLarge =
                send(
                        post(
                                "{\"model\": \""
                                        + MODEL
                                        + "\", \"prompt\": \""
                                        + "x".repeat(5000)
                                        + "\"}"));
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(code(tooLarge)).isEqualTo("BODY_TOO_LARGE");

        HttpResponse<String> wrongMethod = send(get("/v1/completions"));
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(code(wrongMethod)).isEqualTo("METHOD_NOT_ALLOWED");

        HttpResponse<String> nowhere = send(get("/v1/chat/nothing"));
        assertThat(nowhere.statusCode()).isEqualTo(404);
        assertThat(code(nowhere)).isEqualTo("NOT_FOUND");

        assertThat(send(get("/health")).statusCode()).isEqualTo(200);
        assertThat(gateway.inFlight()).isZero();
        assertThat(gateway.heldByClient()).isZero();
    }

    /**
     * Over the limit with a Content-Length (refused before reading) and without one (refused at the
     * chunk that crosses it), on HTTP/1.1 (OpenAI clients) and HTTP/2: one 413 each, written once.
     * A second write throws inside the HTTP handler after the client already has its 413, so only
     * the gateway's count of unhandled exceptions tells.
     */
    @Test
    void aBodyOverTheLimitIs413WrittenOnceWithOrWithoutContentLength() throws Exception {
        long unhandled = gateway.unhandledErrors();
        java.util.Set<HttpClient.Version> answeredOn = new java.util.HashSet<>();
        byte[] body =
                ("{\"model\": \"" + MODEL + "\", \"prompt\": \"" + "x".repeat(9000) + "\"}")
                        .getBytes(StandardCharsets.UTF_8);
        for (HttpClient.Version version :
                List.of(HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2)) {
            HttpClient http = HttpClient.newBuilder().version(version).build();
            List<HttpRequest.BodyPublisher> bodies =
                    List.of(
                            HttpRequest.BodyPublishers.ofByteArray(body),
                            HttpRequest.BodyPublishers.ofInputStream(
                                    () -> new ByteArrayInputStream(body)));
            for (HttpRequest.BodyPublisher publisher : bodies) {
                HttpResponse<String> tooLarge =
                        http.send(
                                HttpRequest.newBuilder(
                                                URI.create(gateway.baseUrl() + "/completions"))
                                        .header("Content-Type", "application/json")
                                        .POST(publisher)
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(tooLarge.statusCode()).as("%s", version).isEqualTo(413);
                assertThat(code(tooLarge)).isEqualTo("BODY_TOO_LARGE");
                answeredOn.add(tooLarge.version());
                if (tooLarge.version() == HttpClient.Version.HTTP_1_1) {
                    assertThat(tooLarge.headers().firstValue("Connection")).hasValue("close");
                }
            }
            // The same client goes on: HTTP/2 reset the refused streams, not the connection.
            assertThat(http.send(get("/health"), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }
        assertThat(answeredOn)
                .containsExactlyInAnyOrder(HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2);
        // A second write would have thrown right after the 413 went out, on the handler's thread.
        Thread.sleep(300);
        assertThat(gateway.unhandledErrors()).isEqualTo(unhandled);
    }

    private static HttpRequest post(String body) {
        return HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static HttpRequest get(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path))
                .GET()
                .build();
    }

    private static HttpResponse<String> send(HttpRequest request) throws Exception {
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static String code(HttpResponse<String> response) throws Exception {
        return MAPPER.readTree(response.body()).get("error").get("code").asText();
    }
}
