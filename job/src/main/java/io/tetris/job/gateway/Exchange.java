package io.tetris.job.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import java.io.UncheckedIOException;

/**
 * One HTTP completion request from the moment it is sent to Kafka until its answer is written or
 * abandoned. Every method runs on the Vert.x context of the HTTP connection ({@link #context}), so
 * the state needs no locks: the Kafka reader thread only hands records over with {@code
 * runOnContext}.
 *
 * <p>A streamed request sends its HTTP headers with the first token event, not before: until then
 * an error or a timeout can still be a proper HTTP status (429, 400, 504) that OpenAI clients turn
 * into their typed errors. Once streaming, an error becomes an SSE event with an {@code error}
 * object and the stream ends. The stream ends at the token event marked {@code finished}; with
 * {@code include_usage} it waits for the result as well, which alone knows the prompt's length. A
 * whole (non-streamed) answer is the result.
 */
final class Exchange {

    /** How an exchange ended, for {@link GatewayStats}. */
    enum End {
        COMPLETED,
        FAILED,
        TIMED_OUT,
        DISCONNECTED
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Gateway gateway;
    final Context context;
    final String requestId;
    private final CompletionRequest request;
    private final HttpServerResponse response;
    private final long createdSeconds;

    private long timer = -1;
    private boolean streaming;
    private boolean tokensFinished;
    private GenerationResult result;
    private boolean ended;

    Exchange(
            Gateway gateway,
            Context context,
            String requestId,
            CompletionRequest request,
            HttpServerResponse response,
            long createdSeconds) {
        this.gateway = gateway;
        this.context = context;
        this.requestId = requestId;
        this.request = request;
        this.response = response;
        this.createdSeconds = createdSeconds;
    }

    /** Starts the timeout and watches the connection; call on {@link #context}. */
    void start(long timeoutMillis) {
        timer = gateway.vertx().setTimer(timeoutMillis, id -> onTimeout(timeoutMillis));
        // Netty reads the socket all along, so a closed connection is noticed at once, also while
        // a non-streamed request waits silently for its result. Not once the answer is ended: an
        // HTTP/2 stream closes within that end() call, before the caller records how it ended.
        response.closeHandler(
                v -> {
                    if (!response.ended()) {
                        end(End.DISCONNECTED);
                    }
                });
        response.exceptionHandler(e -> end(End.DISCONNECTED));
    }

    boolean ended() {
        return ended;
    }

    void onToken(TokenEvent event) {
        if (ended || !request.stream()) {
            return;
        }
        if (!streaming) {
            streaming = true;
            response.setStatusCode(200)
                    .setChunked(true)
                    .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                    .putHeader("Cache-Control", "no-cache")
                    .putHeader("X-Request-Id", requestId);
        }
        String finish =
                event.getFinished() ? OpenAiJson.finishReason(event.getFinishReason()) : null;
        if (!event.getText().isEmpty() || finish != null) {
            send(
                    OpenAiJson.chunk(
                            requestId, createdSeconds, request.model(), event.getText(), finish));
        }
        if (event.getFinished()) {
            tokensFinished = true;
            finishStreamIfComplete();
        }
    }

    void onResult(GenerationResult completed) {
        if (ended) {
            return;
        }
        if (!request.stream()) {
            Gateway.respond(
                    response,
                    200,
                    OpenAiJson.completion(requestId, createdSeconds, request.model(), completed),
                    requestId);
            end(End.COMPLETED);
            return;
        }
        result = completed;
        finishStreamIfComplete();
    }

    void onError(GenerationError error) {
        fail(ApiError.fromJob(error), End.FAILED);
    }

    /** The send to Kafka failed. */
    void onSendFailure(Throwable failure) {
        fail(ApiError.kafkaUnavailable(String.valueOf(failure.getMessage())), End.FAILED);
    }

    private void onTimeout(long timeoutMillis) {
        fail(ApiError.timeout(timeoutMillis), End.TIMED_OUT);
    }

    private void finishStreamIfComplete() {
        if (!tokensFinished || (request.includeUsage() && result == null)) {
            return;
        }
        if (request.includeUsage()) {
            send(
                    OpenAiJson.usageChunk(
                            requestId, createdSeconds, request.model(), result.getUsage()));
        }
        write("data: [DONE]\n\n", true);
        end(End.COMPLETED);
    }

    private void fail(ApiError error, End how) {
        if (ended) {
            return;
        }
        if (streaming) {
            write("data: " + json(error.toJson()) + "\n\n", true);
        } else {
            Gateway.respond(response, error.status(), error.toJson(), requestId);
        }
        end(how);
    }

    private void send(ObjectNode event) {
        write("data: " + json(event) + "\n\n", false);
    }

    /**
     * Writes to the client; a connection closed in the meantime (its close event still queued
     * behind this call) ends the exchange as disconnected instead of throwing.
     */
    private void write(String data, boolean last) {
        if (response.closed()) {
            end(End.DISCONNECTED);
            return;
        }
        try {
            if (last) {
                response.end(data);
            } else {
                response.write(data);
            }
        } catch (IllegalStateException e) {
            end(End.DISCONNECTED);
        }
    }

    static String json(ObjectNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ends the exchange once: no more listening, no more state anywhere for this request. */
    void end(End how) {
        if (ended) {
            return;
        }
        ended = true;
        gateway.vertx().cancelTimer(timer);
        gateway.release(this, how);
    }
}
