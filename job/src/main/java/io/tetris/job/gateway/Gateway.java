package io.tetris.job.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.ResponseListener;
import io.tetris.job.kafka.TopicNames;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP gateway in front of the job's Kafka topics.
 *
 * <p>Each {@code POST /v1/completions} gets a fresh request_id (a random UUID; the job refuses a
 * reused id), goes to the requests topic, and is answered from that id's token events (streamed),
 * result (whole) or error. One scoped {@link GenerationClient} reads the response topics for all
 * requests; {@link #inFlight} maps each id to its {@link Exchange}. An exchange leaves that map and
 * the client forgets its id when it ends in any way: answered, failed, timed out, or its client
 * disconnected; records that arrive later for the id are dropped before any state is kept.
 *
 * <p>HTTP is Vert.x core (Netty): its event loops serve many open streams without a thread each,
 * and Netty keeps reading every connection, so a client that hangs up is noticed at once.
 *
 * <p>The gateway listens at once, also while Kafka or the job's topics are not there yet ({@link
 * KafkaConnection} waits for them): meanwhile completions are answered 503 {@code NOT_READY} with
 * {@code Retry-After}, which OpenAI clients retry by themselves, and {@code /health} is 503, so a
 * readiness probe or load balancer sends no traffic yet.
 */
public final class Gateway implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    private static final String COMPLETIONS = "/v1/completions";
    private static final String MODELS = "/v1/models";

    private final GatewayConfig config;
    private final Vertx vertx;
    private final KafkaConnection kafka;
    private final Map<String, Exchange> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger admitted = new AtomicInteger();
    private final long startedSeconds = System.currentTimeMillis() / 1000;
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    private final AtomicLong disconnected = new AtomicLong();
    private final AtomicLong unhandled = new AtomicLong();
    private HttpServer server;

    private Gateway(GatewayConfig config, KafkaClientSettings kafka, TopicNames topics) {
        this.config = config;
        this.kafka = new KafkaConnection(kafka, topics, new Router());
        this.vertx =
                Vertx.vertx(
                        new VertxOptions()
                                // Nothing is served from files: no cache folder on disk.
                                .setFileSystemOptions(
                                        new FileSystemOptions()
                                                .setFileCachingEnabled(false)
                                                .setClassPathResolvingEnabled(false)));
        // Counted, so tests notice a handler that throws (such as a response written twice).
        this.vertx.exceptionHandler(
                e -> {
                    unhandled.incrementAndGet();
                    LOG.error("unhandled exception in the HTTP server", e);
                });
    }

    /**
     * Listens, then connects to Kafka: at once if the cluster answers and the four topics exist,
     * otherwise in the background, answering completions 503 until then (see the class comment).
     *
     * @throws IllegalStateException if the port cannot be bound
     * @throws IllegalArgumentException if the Kafka settings are unusable
     */
    public static Gateway start(
            GatewayConfig config, KafkaClientSettings kafka, TopicNames topics) {
        Objects.requireNonNull(config, "config");
        Gateway gateway = new Gateway(config, kafka, topics);
        try {
            gateway.listen();
            gateway.kafka.connect();
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    private void listen() {
        server =
                vertx.createHttpServer(
                                new HttpServerOptions()
                                        .setHost(config.host())
                                        .setPort(config.port()))
                        .requestHandler(this::route);
        try {
            server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding the gateway's port", e);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(
                    "cannot listen on " + config.host() + ":" + config.port() + ": " + cause,
                    cause);
        }
    }

    /** The bound port (the chosen one when the configured port is 0). */
    public int port() {
        return server.actualPort();
    }

    /** {@code http://host:port/v1}, the base URL OpenAI clients take. */
    public String baseUrl() {
        return "http://" + config.host() + ":" + port() + "/v1";
    }

    /** Requests waiting for the job now. */
    public int inFlight() {
        return inFlight.size();
    }

    /** Request ids the Kafka client keeps state for (0 when nothing is in flight). */
    public int heldByClient() {
        GenerationClient client = kafka.client();
        return client == null ? 0 : client.heldRequests();
    }

    /** Whether the gateway is connected to Kafka and its topics, so completions can be served. */
    public boolean ready() {
        return kafka.client() != null;
    }

    /** Exceptions that escaped the HTTP handlers: bugs, 0 in a healthy gateway. */
    long unhandledErrors() {
        return unhandled.get();
    }

    public GatewayStats stats() {
        return new GatewayStats(
                completed.get(), failed.get(), timedOut.get(), disconnected.get(), inFlight());
    }

    Vertx vertx() {
        return vertx;
    }

    // ------------------------------------------------------------------------------------------
    // routes
    // ------------------------------------------------------------------------------------------

    private void route(HttpServerRequest request) {
        String path = request.path();
        HttpMethod method = request.method();
        HttpServerResponse response = request.response();
        if (path.equals(COMPLETIONS)) {
            if (method.equals(HttpMethod.POST)) {
                readBody(request, body -> complete(request, body));
            } else {
                respond(response, ApiError.methodNotAllowed(method.name(), path, "POST"));
            }
        } else if (path.equals(MODELS) || path.startsWith(MODELS + "/")) {
            if (!method.equals(HttpMethod.GET)) {
                respond(response, ApiError.methodNotAllowed(method.name(), path, "GET"));
            } else if (path.equals(MODELS)) {
                respond(
                        response,
                        200,
                        OpenAiJson.models(config.servedModelName(), startedSeconds),
                        null);
            } else if (path.substring(MODELS.length() + 1).equals(config.servedModelName())) {
                respond(
                        response,
                        200,
                        OpenAiJson.model(config.servedModelName(), startedSeconds),
                        null);
            } else {
                respond(
                        response,
                        ApiError.modelNotFound(
                                path.substring(MODELS.length() + 1), config.servedModelName()));
            }
        } else if (path.equals("/health")) {
            // Healthy while answers can arrive: connected, and the response reader is running.
            GenerationClient client = kafka.client();
            if (client == null) {
                response.setStatusCode(503).end("waiting for " + kafka.waitingFor() + "\n");
            } else {
                boolean reading = client.isReading();
                response.setStatusCode(reading ? 200 : 503)
                        .end(reading ? "ok\n" : "kafka reader stopped\n");
            }
        } else {
            respond(response, ApiError.notFound(path));
        }
    }

    /** Reads the whole body, refusing one over the limit without buffering it. */
    private void readBody(HttpServerRequest request, Consumer<Buffer> then) {
        String declared = request.getHeader("Content-Length");
        if (declared != null
                && declared.matches("\\d{1,18}")
                && Long.parseLong(declared) > config.maxBodyBytes()) {
            refuseBody(request);
            return;
        }
        Buffer body = Buffer.buffer();
        boolean[] refused = {false};
        request.handler(
                chunk -> {
                    if (refused[0]) {
                        return;
                    }
                    if (body.length() + chunk.length() > config.maxBodyBytes()) {
                        refused[0] = true;
                        refuseBody(request);
                    } else {
                        body.appendBuffer(chunk);
                    }
                });
        request.endHandler(
                v -> {
                    if (!refused[0]) {
                        then.accept(body);
                    }
                });
        request.exceptionHandler(e -> LOG.debug("reading a request body failed", e));
    }

    /**
     * Answers 413, once, without reading the rest of the body. What follows the answer is chained
     * to its write, not set as an end handler afterwards: Vert.x refuses handlers on a written
     * response ("Response has already been written"). HTTP/1.1 then closes the connection, whose
     * unread rest of the body would be taken for the next request; HTTP/2 resets only this stream
     * with NO_ERROR, which asks the client to stop sending without failing the answer or the
     * connection's other streams (RFC 9113, section 8.1).
     */
    private void refuseBody(HttpServerRequest request) {
        HttpServerResponse response = request.response();
        boolean http2 = request.version() == HttpVersion.HTTP_2;
        if (!http2) {
            response.putHeader("Connection", "close"); // HTTP/2 has no connection headers
        }
        respond(response, ApiError.bodyTooLarge(config.maxBodyBytes()))
                .onComplete(
                        written -> {
                            if (!http2) {
                                request.connection().close();
                            } else if (!request.isEnded()) {
                                response.reset(0); // NO_ERROR
                            }
                        });
    }

    private void complete(HttpServerRequest http, Buffer body) {
        HttpServerResponse response = http.response();
        CompletionRequest request;
        try {
            JsonNode json;
            try {
                json = MAPPER.readTree(body.getBytes());
            } catch (JsonProcessingException e) {
                throw new ApiException(
                        ApiError.badRequest(
                                ApiError.INVALID_JSON,
                                null,
                                "The request body is not valid JSON: " + e.getOriginalMessage()));
            } catch (IOException e) {
                throw new UncheckedIOException(e); // not from a byte array in memory
            }
            request = CompletionRequest.parse(json, config);
        } catch (ApiException e) {
            failed.incrementAndGet();
            respond(response, e.error());
            return;
        }
        GenerationClient client = kafka.client();
        if (client == null) {
            failed.incrementAndGet();
            // OpenAI clients wait this long before their own retry (they retry 503 by default).
            response.putHeader(
                    "Retry-After", Long.toString(KafkaConnection.RETRY_EVERY.toSeconds()));
            respond(response, ApiError.notReady(kafka.waitingFor()));
            return;
        }
        if (admitted.incrementAndGet() > config.maxInFlight()) {
            admitted.decrementAndGet();
            failed.incrementAndGet();
            respond(response, ApiError.busy(config.maxInFlight()));
            return;
        }
        String requestId = UUID.randomUUID().toString();
        Context context = vertx.getOrCreateContext();
        Exchange exchange =
                new Exchange(
                        this,
                        context,
                        requestId,
                        request,
                        response,
                        System.currentTimeMillis() / 1000);
        // Registered before the send, so no answer can come back unrouted.
        inFlight.put(requestId, exchange);
        exchange.start(config.requestTimeout().toMillis());
        GenerationRequest generation =
                request.toGenerationRequest(requestId, System.currentTimeMillis());
        vertx.executeBlocking(() -> client.send(generation), false)
                .onComplete(
                        sent -> {
                            if (exchange.ended()) {
                                // Abandoned while the send was under way, which watched the id
                                // again: forget it for good.
                                client.forget(requestId);
                            } else if (sent.failed()) {
                                exchange.onSendFailure(sent.cause());
                            }
                        });
    }

    /** Called once by an exchange that ended: it stops being routed and leaves no state. */
    void release(Exchange exchange, Exchange.End how) {
        inFlight.remove(exchange.requestId, exchange);
        // Not null: an exchange starts only with a client, which stays once opened.
        kafka.client().forget(exchange.requestId);
        admitted.decrementAndGet();
        switch (how) {
            case COMPLETED -> completed.incrementAndGet();
            case FAILED -> failed.incrementAndGet();
            case TIMED_OUT -> timedOut.incrementAndGet();
            case DISCONNECTED -> disconnected.incrementAndGet();
        }
    }

    static Future<Void> respond(HttpServerResponse response, ApiError error) {
        return respond(response, error.status(), error.toJson(), null);
    }

    /**
     * Writes a whole JSON answer, unless the client is gone already.
     *
     * @return the write, complete once it is done (at once when nothing was written)
     */
    static Future<Void> respond(
            HttpServerResponse response, int status, ObjectNode body, String requestId) {
        if (response.closed() || response.ended()) {
            return Future.succeededFuture();
        }
        response.setStatusCode(status).putHeader("Content-Type", "application/json");
        if (requestId != null) {
            response.putHeader("X-Request-Id", requestId);
        }
        return response.end(Exchange.json(body));
    }

    // ------------------------------------------------------------------------------------------
    // answers from Kafka
    // ------------------------------------------------------------------------------------------

    /** Hands each record to its exchange's context; records of other ids are none of ours. */
    private final class Router implements ResponseListener {

        @Override
        public void onToken(TokenEvent event) {
            Exchange exchange = inFlight.get(event.getRequestId());
            if (exchange != null) {
                exchange.context.runOnContext(v -> exchange.onToken(event));
            }
        }

        @Override
        public void onResult(GenerationResult result) {
            Exchange exchange = inFlight.get(result.getRequestId());
            if (exchange != null) {
                exchange.context.runOnContext(v -> exchange.onResult(result));
            }
        }

        @Override
        public void onError(GenerationError error) {
            Exchange exchange =
                    error.getRequestId() == null ? null : inFlight.get(error.getRequestId());
            if (exchange != null) {
                exchange.context.runOnContext(v -> exchange.onError(error));
            }
        }
    }

    /** Stops listening, then closes the Kafka client; requests still in flight are cut off. */
    @Override
    public void close() {
        try {
            vertx.close()
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("the HTTP server did not stop cleanly", e);
        } finally {
            kafka.close();
        }
    }
}
