package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.job.TopicReader;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.RequestDecoder;
import io.tetris.schemas.SingleObjectCodec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gateway in front of a running job (local Flink, embedded Kafka, bundled models), driven by
 * the official OpenAI client and by raw HTTP where a test needs to hang up.
 *
 * <p>The job runs at most 2 requests with 1 waiting and rejects the rest ({@code
 * tetris.batch.queue-full: reject}), so that a burst meets a full queue. Tests send one request at
 * a time otherwise.
 */
class GatewayITCase {

    private static final String MODEL = "tetris-test";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static GatewayWithJob running;
    private static KafkaClientSettings kafka;
    private static TopicNames topics;
    private static Gateway gateway;
    private static OpenAiNodeClient openai;

    @BeforeAll
    static void startJobAndGateway() throws Exception {
        Configuration conf = BundledModelsConfig.configuration();
        conf.set(TetrisOptions.MAX_RUNNING, 2);
        conf.set(TetrisOptions.MAX_WAITING, 1);
        conf.set(TetrisOptions.QUEUE_FULL, "reject");
        running = GatewayWithJob.start("gateway", conf, MODEL);
        kafka = running.kafka;
        topics = running.topics;
        gateway = running.gateway;
        openai = new OpenAiNodeClient(gateway.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    @Test
    void theOfficialClientCompletesAndStreamsTheResultTopicsText() throws Exception {
        assertThat(openai.run("models", null).get("ids")).containsExactly(text(MODEL));

        JsonNode whole =
                openai.run(
                        "complete",
                        "{\"model\": \""
                                + MODEL
                                + "\", \"prompt\": \"Once upon a time\","
                                + " \"max_tokens\": 24, \"temperature\": 0}");
        JsonNode usageStream =
                openai.run(
                        "stream",
                        "{\"model\": \""
                                + MODEL
                                + "\", \"prompt\": \"The quick brown fox\","
                                + " \"max_tokens\": 40, \"temperature\": 0,"
                                + " \"stream_options\": {\"include_usage\": true}}");
        // Sampled, with the extension top_k and a stop string: what reaches the job is checked
        // on the requests topic below.
        JsonNode sampledStream =
                openai.run(
                        "stream",
                        "{\"model\": \""
                                + MODEL
                                + "\", \"prompt\": \"Hacker culture\","
                                + " \"max_tokens\": 48, \"temperature\": 0.9, \"top_k\": 20,"
                                + " \"seed\": 5, \"stop\": \"zzz\"}");

        assertThat(whole.get("object").asText()).isEqualTo("text_completion");
        assertThat(whole.get("model").asText()).isEqualTo(MODEL);
        assertThat(whole.get("choices")).hasSize(1);

        Map<String, GenerationResult> results =
                awaitResults(requestId(whole), requestId(usageStream), requestId(sampledStream));

        GenerationResult wholeResult = results.get(requestId(whole));
        JsonNode choice = whole.get("choices").get(0);
        assertThat(choice.get("text").asText()).isEqualTo(wholeResult.getText());
        assertThat(choice.get("finish_reason").asText())
                .isEqualTo(OpenAiJson.finishReason(wholeResult.getFinishReason()));
        assertThat(whole.get("usage").get("prompt_tokens").asInt())
                .isEqualTo(wholeResult.getUsage().getPromptTokens())
                .isEqualTo("Once upon a time".length()); // byte-level tokenizer
        assertThat(whole.get("usage").get("completion_tokens").asInt())
                .isEqualTo(wholeResult.getTokenIds().size())
                .isPositive();
        assertThat(whole.get("usage").get("total_tokens").asInt())
                .isEqualTo(16 + wholeResult.getTokenIds().size());

        for (JsonNode stream : List.of(usageStream, sampledStream)) {
            GenerationResult result = results.get(requestId(stream));
            // The acceptance criterion: the streamed text is the result topic's text.
            assertThat(stream.get("text").asText()).isEqualTo(result.getText()).isNotEmpty();
            assertThat(stream.get("finish_reason").asText())
                    .isEqualTo(OpenAiJson.finishReason(result.getFinishReason()));
            assertThat(stream.get("chunks").asInt()).isGreaterThan(1);
        }
        JsonNode usage = usageStream.get("usage");
        GenerationResult usageResult = results.get(requestId(usageStream));
        assertThat(usage.get("prompt_tokens").asInt())
                .isEqualTo(usageResult.getUsage().getPromptTokens());
        assertThat(usage.get("completion_tokens").asInt())
                .isEqualTo(usageResult.getUsage().getCompletionTokens());
        assertThat(sampledStream.get("usage").isNull()).isTrue();

        GenerationRequest sent = sentRequest(requestId(sampledStream));
        assertThat(sent.getPrompt()).isEqualTo("Hacker culture");
        assertThat(sent.getMaxNewTokens()).isEqualTo(48);
        assertThat(sent.getTemperature()).isEqualTo(0.9f);
        assertThat(sent.getTopK()).isEqualTo(20);
        assertThat(sent.getSeed()).isEqualTo(5);
        assertThat(sent.getStop()).containsExactly("zzz");

        awaitTrue(() -> gateway.inFlight() == 0 && gateway.heldByClient() == 0);
    }

    @Test
    void errorsReachTheOfficialClientAsHttpStatusesWithTheJobsCodes() throws Exception {
        // Refused by the job: the job's code, HTTP 400, the OpenAI parameter at fault.
        assertError(
                "{\"model\": \"" + MODEL + "\", \"prompt\": \"Hi\", \"temperature\": -1}",
                400,
                "INVALID_TEMPERATURE",
                "temperature");
        assertError(
                "{\"model\": \"" + MODEL + "\", \"prompt\": \"" + "x".repeat(600) + "\"}",
                400,
                "PROMPT_TOO_LONG",
                "prompt");
        // Streamed requests too: the headers wait for the first token, so an error is a status.
        assertError(
                "{\"model\": \""
                        + MODEL
                        + "\", \"prompt\": \"Hi\", \"top_p\": 0, \"stream\": true}",
                400,
                "INVALID_TOP_P",
                "top_p");
        // Refused by the gateway.
        assertError(
                "{\"model\": \"" + MODEL + "\", \"prompt\": \"Hi\", \"n\": 2}",
                400,
                "UNSUPPORTED_PARAMETER",
                "n");
        assertError(
                "{\"model\": \"" + MODEL + "\", \"prompt\": [\"one\", \"two\"]}",
                400,
                "UNSUPPORTED_PARAMETER",
                "prompt");
        assertError("{\"model\": \"gpt-4\", \"prompt\": \"Hi\"}", 404, "MODEL_NOT_FOUND", "model");

        awaitTrue(() -> gateway.inFlight() == 0 && gateway.heldByClient() == 0);
    }

    @Test
    void aBurstBeyondTheJobsQueueGets429QueueFull() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            burst.add(
                    HTTP.sendAsync(
                            completion(
                                    "{\"model\": \""
                                            + MODEL
                                            + "\", \"prompt\": \"Burst "
                                            + i
                                            + "\", \"max_tokens\": 64, \"temperature\": 0}"),
                            HttpResponse.BodyHandlers.ofString()));
        }
        List<Integer> statuses = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> future : burst) {
            HttpResponse<String> response = future.get();
            statuses.add(response.statusCode());
            if (response.statusCode() == 429) {
                JsonNode error = MAPPER.readTree(response.body()).get("error");
                assertThat(error.get("code").asText()).isEqualTo("QUEUE_FULL");
                assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
            }
        }
        assertThat(statuses).contains(200, 429).containsOnly(200, 429);
        awaitTrue(() -> gateway.inFlight() == 0 && gateway.heldByClient() == 0);
    }

    @Test
    void aClientThatHangsUpMidStreamLeavesNoState() throws Exception {
        GatewayStats before = gateway.stats();
        String requestId;
        try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
            post(
                    socket,
                    "{\"model\": \""
                            + MODEL
                            + "\", \"prompt\": \"Once upon a time there\","
                            + " \"max_tokens\": 400, \"temperature\": 0, \"stream\": true}");
            BufferedReader in =
                    new BufferedReader(
                            new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            requestId = null;
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("data: ")) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("x-request-id:")) {
                    requestId = line.substring(line.indexOf(':') + 1).strip();
                }
            }
            assertThat(line).as("a first streamed chunk").isNotNull();
            assertThat(gateway.inFlight()).isEqualTo(1);
        } // hangs up mid-stream
        awaitTrue(() -> gateway.inFlight() == 0);
        assertThat(gateway.heldByClient()).isZero();
        assertThat(gateway.stats().disconnected()).isEqualTo(before.disconnected() + 1);
        assertThat(gateway.stats().completed()).isEqualTo(before.completed());

        // The job finishes the request anyway; its late token events and result leave no trace.
        assertThat(requestId).isNotNull();
        awaitResults(requestId);
        Thread.sleep(500);
        assertThat(gateway.heldByClient()).isZero();
        assertThat(gateway.inFlight()).isZero();
    }

    @Test
    void aClientThatHangsUpWhileWaitingForAWholeAnswerLeavesNoState() throws Exception {
        GatewayStats before = gateway.stats();
        try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
            post(
                    socket,
                    "{\"model\": \""
                            + MODEL
                            + "\", \"prompt\": \"Long ago\","
                            + " \"max_tokens\": 200, \"temperature\": 0}");
            awaitTrue(() -> gateway.inFlight() == 1);
        }
        // Noticed at once, not when the answer would be written.
        awaitTrue(() -> gateway.inFlight() == 0);
        assertThat(gateway.heldByClient()).isZero();
        GatewayStats after = gateway.stats();
        assertThat(after.disconnected()).isEqualTo(before.disconnected() + 1);
        assertThat(after.completed()).isEqualTo(before.completed());

        // The job finishes it anyway (the next tests get its batch slot back); nothing is kept.
        awaitResults(sentRequestWithPrompt("Long ago").getRequestId());
        Thread.sleep(500);
        assertThat(gateway.heldByClient()).isZero();
        assertThat(gateway.inFlight()).isZero();
    }

    // ------------------------------------------------------------------------------------------

    private static void assertError(String params, int status, String code, String param)
            throws Exception {
        JsonNode error = openai.run("error", params);
        assertThat(error.get("status").asInt()).as("%s", error).isEqualTo(status);
        assertThat(error.get("code").asText()).as("%s", error).isEqualTo(code);
        assertThat(error.get("param").asText()).as("%s", error).isEqualTo(param);
    }

    static HttpRequest completion(String body) {
        return HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static void post(Socket socket, String body) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(
                ("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
                                + "Content-Type: application/json\r\nContent-Length: "
                                + bytes.length
                                + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }

    private static String requestId(JsonNode completion) {
        String id = completion.get("id").asText();
        assertThat(id).startsWith("cmpl-");
        return id.substring("cmpl-".length());
    }

    private static JsonNode text(String value) {
        return MAPPER.getNodeFactory().textNode(value);
    }

    /** The committed results of {@code ids}, waiting until all are there. */
    private static Map<String, GenerationResult> awaitResults(String... ids) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Map<String, GenerationResult> results = new HashMap<>();
            for (byte[] value : TopicReader.readAll(kafka, topics.results())) {
                GenerationResult r =
                        SingleObjectCodec.RESULT.decode(value).toOptional().orElseThrow();
                results.put(r.getRequestId(), r);
            }
            if (results.keySet().containsAll(List.of(ids))) {
                return results;
            }
            assertThat(System.nanoTime()).as("results of %s", List.of(ids)).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static GenerationRequest sentRequestWithPrompt(String prompt) {
        RequestDecoder decoder = new RequestDecoder();
        for (byte[] value : TopicReader.readAll(kafka, topics.requests())) {
            GenerationRequest request = decoder.decode(value).toOptional().orElseThrow();
            if (request.getPrompt().equals(prompt)) {
                return request;
            }
        }
        throw new AssertionError("no request of prompt " + prompt + " on " + topics.requests());
    }

    private static GenerationRequest sentRequest(String requestId) {
        RequestDecoder decoder = new RequestDecoder();
        for (byte[] value : TopicReader.readAll(kafka, topics.requests())) {
            GenerationRequest request = decoder.decode(value).toOptional().orElseThrow();
            if (request.getRequestId().equals(requestId)) {
                return request;
            }
        }
        throw new AssertionError("no request " + requestId + " on " + topics.requests());
    }

    static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition still false").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
