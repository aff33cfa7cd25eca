package io.tetris.job.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.schemas.GenerationRequest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Requests through the OpenAI-compatible gateway ({@code ./tetris gateway}), streamed, so that the
 * latencies are a gateway user's: each request is a {@code POST /v1/completions} with {@code
 * "stream": true}, read by a {@link CompletionStream} as its events arrive. Sends do not wait for
 * answers (the bench is open loop); an HTTP error status or a connection that fails counts the
 * request as failed and says why on stderr.
 */
public final class GatewayTransport implements Transport {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

    private final Endpoint endpoint;
    private final ClientTimings timings;
    private final Consumer<String> failures;
    private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();

    private GatewayTransport(Endpoint endpoint, ClientTimings timings, Consumer<String> failures) {
        this.endpoint = endpoint;
        this.timings = timings;
        this.failures = failures;
    }

    /**
     * A gateway that answered: its base URL and the model it serves, which every request names.
     *
     * @param baseUrl such as {@code http://localhost:8000/v1}, without a trailing slash
     */
    public record Endpoint(HttpClient http, URI baseUrl, String model) {

        /**
         * Checks that a gateway answers at {@code baseUrl} and is ready, before any load is sent.
         *
         * @throws IllegalStateException saying what to check, if it is unreachable or not ready
         */
        public static Endpoint reach(URI baseUrl) throws InterruptedException {
            String base = baseUrl.toString().replaceAll("/+$", "");
            HttpClient http =
                    HttpClient.newBuilder()
                            // Plain HTTP/1.1: no h2c upgrade attempt on every new connection.
                            .version(HttpClient.Version.HTTP_1_1)
                            .connectTimeout(PROBE_TIMEOUT)
                            .build();
            URI models = URI.create(base + "/models");
            HttpResponse<String> listed = get(http, models, base);
            JsonNode model = null;
            try {
                model = MAPPER.readTree(listed.body()).path("data").path(0).get("id");
            } catch (JsonProcessingException e) {
                // Not the gateway's answer: reported below.
            }
            if (listed.statusCode() != 200 || model == null || !model.isTextual()) {
                throw new IllegalStateException(
                        "GET "
                                + models
                                + " answered HTTP "
                                + listed.statusCode()
                                + " without a model list ("
                                + CompletionStream.abbreviate(listed.body())
                                + "): --via-gateway takes the gateway's base URL, the one OpenAI"
                                + " clients take, such as http://localhost:8000/v1");
            }
            URI health = URI.create(base).resolve("/health");
            HttpResponse<String> healthy = get(http, health, base);
            if (healthy.statusCode() != 200) {
                throw new IllegalStateException(
                        "the gateway at "
                                + base
                                + " is not ready ("
                                + health
                                + ": HTTP "
                                + healthy.statusCode()
                                + ", "
                                + CompletionStream.abbreviate(healthy.body())
                                + "): check that Kafka, the job's topics and the job are up");
            }
            return new Endpoint(http, URI.create(base), model.asText());
        }

        /** A transport that reports to {@code timings}, and each failure on stderr. */
        public Transport open(ClientTimings timings) {
            return new GatewayTransport(
                    this, timings, why -> System.err.println("  request failed: " + why));
        }

        /** With the failures told to {@code failures} (tests). */
        Transport open(ClientTimings timings, Consumer<String> failures) {
            return new GatewayTransport(this, timings, failures);
        }

        private static HttpResponse<String> get(HttpClient http, URI uri, String base)
                throws InterruptedException {
            try {
                return http.send(
                        HttpRequest.newBuilder(uri).timeout(PROBE_TIMEOUT).GET().build(),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalStateException(
                        "cannot reach the gateway at "
                                + base
                                + " ("
                                + e
                                + "): check that `./tetris gateway` runs there and that"
                                + " --via-gateway is its base URL, such as"
                                + " http://localhost:8000/v1",
                        e);
            }
        }
    }

    @Override
    public void send(GenerationRequest request) {
        String id = request.getRequestId();
        CompletionStream stream = new CompletionStream(id, timings, System::nanoTime, failures);
        HttpRequest http =
                HttpRequest.newBuilder(URI.create(endpoint.baseUrl() + "/completions"))
                        .header("Content-Type", "application/json")
                        .header("Accept", "text/event-stream")
                        .POST(HttpRequest.BodyPublishers.ofString(body(request, endpoint.model())))
                        .build();
        CompletableFuture<HttpResponse<Void>> answer =
                endpoint.http()
                        .sendAsync(
                                http,
                                info ->
                                        info.statusCode() == 200
                                                ? BodySubscribers.fromLineSubscriber(stream)
                                                : BodySubscribers.mapping(
                                                        BodySubscribers.ofString(
                                                                StandardCharsets.UTF_8),
                                                        error -> {
                                                            stream.failed(
                                                                    refusal(
                                                                            info.statusCode(),
                                                                            error));
                                                            return null;
                                                        }));
        inFlight.add(answer);
        answer.whenComplete(
                (response, failure) -> {
                    inFlight.remove(answer);
                    if (failure != null) {
                        Throwable cause =
                                failure instanceof CompletionException && failure.getCause() != null
                                        ? failure.getCause()
                                        : failure;
                        stream.failed("no answer from " + endpoint.baseUrl() + ": " + cause);
                    }
                });
    }

    /** Stops waiting for answers still streaming (the run gave up on them). */
    @Override
    public void close() {
        for (CompletableFuture<?> answer : inFlight) {
            answer.cancel(true);
        }
    }

    /** The OpenAI body that asks the gateway for what {@code request} asks the job. */
    static String body(GenerationRequest request, String model) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("model", model);
        body.put("prompt", request.getPrompt());
        body.put("max_tokens", request.getMaxNewTokens());
        body.put("temperature", request.getTemperature());
        body.put("top_p", request.getTopP());
        body.put("top_k", request.getTopK());
        body.put("seed", request.getSeed());
        body.put("stream", true);
        // The usage chunk is the only place a streamed answer counts its tokens.
        body.putObject("stream_options").put("include_usage", true);
        return body.toString();
    }

    /** An error answer as {@code HTTP 429 QUEUE_FULL: message}. */
    static String refusal(int status, String body) {
        String what;
        try {
            JsonNode error = MAPPER.readTree(body).get("error");
            what =
                    error != null && error.isObject()
                            ? CompletionStream.describe(error)
                            : CompletionStream.abbreviate(body);
        } catch (JsonProcessingException e) {
            what = CompletionStream.abbreviate(body);
        }
        return "HTTP " + status + " " + what;
    }
}
