package io.tetris.job.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tetris.schemas.GenerationRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The gateway transport of the open-loop bench: its event-stream reading, timing and errors. */
class GatewayTransportTest {

    private static final long MS = 1_000_000;
    private static final ClientTimings.Slo ANY = new ClientTimings.Slo(1e9, 1e9);

    private static String chunk(String text, String finish) {
        return "data: {\"id\":\"cmpl-x\",\"object\":\"text_completion\",\"choices\":[{\"text\":"
                + (text == null ? "null" : "\"" + text + "\"")
                + ",\"index\":0,\"logprobs\":null,\"finish_reason\":"
                + (finish == null ? "null" : "\"" + finish + "\"")
                + "}]}";
    }

    private static final String USAGE_4 =
            "data: {\"id\":\"cmpl-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
                    + "\"completion_tokens\":4,\"total_tokens\":7}}";

    @Test
    void timesTheTextChunksEndsAtTheFinishAndCountsTheUsagesTokens() throws Exception {
        AtomicLong now = new AtomicLong();
        ClientTimings timings = new ClientTimings(1, now::get);
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        timings.scheduled("r", 10 * MS);
        CompletionStream stream = new CompletionStream("r", timings, now::get, failures::add);
        now.set(110 * MS);
        stream.line(chunk("He", null)); // a data line alone is not yet an event
        now.set(120 * MS);
        stream.line(""); // the event: TTFT 110 ms
        stream.line(": keep-alive");
        now.set(160 * MS);
        stream.line(chunk("llo", null));
        stream.line("");
        now.set(170 * MS);
        stream.line(chunk("", "length")); // the finish carries no text
        stream.line("");
        assertThat(timings.await(0, TimeUnit.SECONDS)).as("not before [DONE]").isFalse();
        now.set(900 * MS); // the usage chunk waits for the committed result
        stream.line(USAGE_4);
        stream.line("");
        stream.line("data: [DONE]");
        stream.line("");
        stream.onComplete();

        assertThat(timings.await(0, TimeUnit.SECONDS)).isTrue();
        assertThat(failures).isEmpty();
        LoadPoint p = timings.summarise("gw", 1, 1, ANY, null);
        assertThat(p.completed()).isEqualTo(1);
        assertThat(p.outputTokens()).isEqualTo(4);
        assertThat(p.ttftMs()).containsExactly(110);
        assertThat(p.e2eMs()).containsExactly(160);
        // 4 tokens over 2 chunks with text: the first's second token came with it, the 40 ms to
        // the next chunk are shared by its two tokens; 3 gaps of 40 ms in all, as the mean says.
        assertThat(p.itlMs()).containsExactly(0, 20, 20);
    }

    @Test
    void anErrorEventOrAStreamCutShortFailsTheRequestWithItsReason() throws Exception {
        AtomicLong now = new AtomicLong();
        ClientTimings timings = new ClientTimings(3, now::get);
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        for (String id : List.of("error", "cut", "nousage")) {
            timings.scheduled(id, 0);
        }
        CompletionStream error = new CompletionStream("error", timings, now::get, failures::add);
        error.line(chunk("a", null));
        error.line("");
        error.line(
                "data: {\"error\":{\"message\":\"timed out\",\"type\":\"server_error\","
                        + "\"code\":\"TIMEOUT\",\"param\":null}}");
        error.line("");
        error.onComplete();
        CompletionStream cut = new CompletionStream("cut", timings, now::get, failures::add);
        cut.line(chunk("a", null));
        cut.line("");
        cut.onComplete();
        CompletionStream noUsage =
                new CompletionStream("nousage", timings, now::get, failures::add);
        noUsage.line(chunk("a", "stop"));
        noUsage.line("");
        noUsage.line("data: [DONE]");
        noUsage.line("");

        assertThat(timings.await(0, TimeUnit.SECONDS)).isTrue();
        assertThat(failures)
                .containsExactlyInAnyOrder(
                        "error: error event TIMEOUT: timed out",
                        "cut: the stream ended before data: [DONE]",
                        "nousage: the stream had no usage chunk, so its tokens cannot be counted");
        LoadPoint p = timings.summarise("gw", 1, 1, ANY, null);
        assertThat(p.errors()).isEqualTo(3);
        assertThat(p.completed()).isZero();
    }

    @Test
    void sendsStreamingRequestsAndCountsEveryHttpErrorAsAFailedRequest() throws Exception {
        Queue<JsonNode> bodies = new ConcurrentLinkedQueue<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/v1/models",
                http -> answer(http, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"m\"}]}"));
        server.createContext("/health", http -> answer(http, 200, "ok\n"));
        server.createContext(
                "/v1/completions",
                http -> {
                    JsonNode body = new ObjectMapper().readTree(http.getRequestBody());
                    bodies.add(body);
                    if (body.get("prompt").asText().equals("refused")) {
                        answer(
                                http,
                                429,
                                "{\"error\":{\"message\":\"queue full\",\"code\":\"QUEUE_FULL\"}}");
                        return;
                    }
                    http.getResponseHeaders().set("Content-Type", "text/event-stream");
                    answer(
                            http,
                            200,
                            chunk("ab", null)
                                    + "\n\n"
                                    + chunk("c", "length")
                                    + "\n\n"
                                    + USAGE_4.replace(
                                            "\"completion_tokens\":4", "\"completion_tokens\":3")
                                    + "\n\ndata: [DONE]\n\n");
                });
        server.start();
        try {
            GatewayTransport.Endpoint endpoint =
                    GatewayTransport.Endpoint.reach(
                            URI.create(
                                    "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/"));
            assertThat(endpoint.model()).isEqualTo("m");
            ClientTimings timings = new ClientTimings(2);
            Queue<String> failures = new ConcurrentLinkedQueue<>();
            try (Transport transport = endpoint.open(timings, failures::add)) {
                for (String prompt : List.of("fine", "refused")) {
                    timings.scheduled(prompt, System.nanoTime());
                    transport.send(request(prompt));
                }
                assertThat(timings.await(30, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(failures).containsExactly("refused: HTTP 429 QUEUE_FULL: queue full");
            LoadPoint p = timings.summarise("gw", 1, 1, ANY, null);
            assertThat(p.completed()).isEqualTo(1);
            assertThat(p.errors()).isEqualTo(1);
            assertThat(p.outputTokens()).isEqualTo(3);
            assertThat(p.ttftMs()[0]).isPositive().isLessThanOrEqualTo(p.e2eMs()[0]);
            JsonNode sent =
                    bodies.stream()
                            .filter(b -> b.get("prompt").asText().equals("fine"))
                            .findFirst()
                            .orElseThrow();
            assertThat(sent.get("model").asText()).isEqualTo("m");
            assertThat(sent.get("max_tokens").asInt()).isEqualTo(7);
            assertThat(sent.get("temperature").asDouble()).isCloseTo(0.5, within(1e-6));
            assertThat(sent.get("seed").asLong()).isEqualTo(11);
            assertThat(sent.get("stream").asBoolean()).isTrue();
            assertThat(sent.get("stream_options").get("include_usage").asBoolean()).isTrue();
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aGatewayThatIsNotThereOrNotReadyFailsAtOnceSayingWhatToCheck() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        URI nobody = URI.create("http://127.0.0.1:" + port + "/v1");
        assertThatThrownBy(() -> GatewayTransport.Endpoint.reach(nobody))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot reach the gateway at " + nobody)
                .hasMessageContaining("./tetris gateway");

        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/v1/models", http -> answer(http, 200, "{\"data\":[{\"id\":\"m\"}]}"));
        server.createContext("/health", http -> answer(http, 503, "waiting for Kafka\n"));
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            assertThatThrownBy(() -> GatewayTransport.Endpoint.reach(URI.create(base + "/v1")))
                    .hasMessageContaining("is not ready")
                    .hasMessageContaining("waiting for Kafka");
            // Not the base URL: no model list under it.
            assertThatThrownBy(() -> GatewayTransport.Endpoint.reach(URI.create(base)))
                    .hasMessageContaining("HTTP 404")
                    .hasMessageContaining("base URL");
        } finally {
            server.stop(0);
        }
    }

    private static GenerationRequest request(String id) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt(id)
                .setMaxNewTokens(7)
                .setTemperature(0.5f)
                .setSeed(11)
                .build();
    }

    private static void answer(HttpExchange http, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        http.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = http.getResponseBody()) {
            out.write(bytes);
        }
    }
}
