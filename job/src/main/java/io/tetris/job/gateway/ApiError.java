package io.tetris.job.gateway;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import java.util.Objects;

/**
 * An error answer in OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}, with
 * its HTTP status. The code is the job's {@link ErrorCode} name for errors the job reported (so a
 * client sees {@code PROMPT_TOO_LONG}, not a paraphrase) and an upper-case name of the same style
 * for what the gateway itself refuses.
 *
 * @param param the request field at fault in OpenAI's naming, or {@code null}
 */
public record ApiError(int status, String type, String code, String param, String message) {

    /** Gateway codes, besides the job's {@link ErrorCode} names. */
    public static final String INVALID_JSON = "INVALID_JSON";

    public static final String INVALID_PARAMETER = "INVALID_PARAMETER";
    public static final String UNSUPPORTED_PARAMETER = "UNSUPPORTED_PARAMETER";
    public static final String MODEL_NOT_FOUND = "MODEL_NOT_FOUND";
    public static final String NOT_FOUND = "NOT_FOUND";
    public static final String METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED";
    public static final String BODY_TOO_LARGE = "BODY_TOO_LARGE";
    public static final String GATEWAY_BUSY = "GATEWAY_BUSY";
    public static final String KAFKA_UNAVAILABLE = "KAFKA_UNAVAILABLE";
    public static final String NOT_READY = "NOT_READY";
    public static final String TIMEOUT = "TIMEOUT";

    private static final String INVALID_REQUEST = "invalid_request_error";
    private static final String RATE_LIMIT = "rate_limit_error";
    private static final String SERVER = "server_error";

    public ApiError {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
    }

    /** 400: the request is malformed or asks for something out of range. */
    public static ApiError badRequest(String code, String param, String message) {
        return new ApiError(400, INVALID_REQUEST, code, param, message);
    }

    public static ApiError modelNotFound(String model, String served) {
        return new ApiError(
                404,
                INVALID_REQUEST,
                MODEL_NOT_FOUND,
                "model",
                "The model '" + model + "' does not exist; this gateway serves '" + served + "'.");
    }

    public static ApiError notFound(String path) {
        return new ApiError(404, INVALID_REQUEST, NOT_FOUND, null, "No route for " + path + ".");
    }

    public static ApiError methodNotAllowed(String method, String path, String allowed) {
        return new ApiError(
                405,
                INVALID_REQUEST,
                METHOD_NOT_ALLOWED,
                null,
                method + " is not allowed on " + path + "; use " + allowed + ".");
    }

    public static ApiError bodyTooLarge(long limit) {
        return new ApiError(
                413,
                INVALID_REQUEST,
                BODY_TOO_LARGE,
                null,
                "The request body is larger than the gateway's limit of " + limit + " bytes.");
    }

    public static ApiError busy(int maxInFlight) {
        return new ApiError(
                429,
                RATE_LIMIT,
                GATEWAY_BUSY,
                null,
                "The gateway already has "
                        + maxInFlight
                        + " requests in flight (its --max-in-flight); retry later.");
    }

    public static ApiError kafkaUnavailable(String detail) {
        return new ApiError(
                503, SERVER, KAFKA_UNAVAILABLE, null, "Cannot reach the job's Kafka: " + detail);
    }

    /** 503 while the gateway still waits for Kafka or the job's topics, e.g. at start-up. */
    public static ApiError notReady(String waitingFor) {
        return new ApiError(
                503,
                SERVER,
                NOT_READY,
                null,
                "The gateway is not ready yet: it is waiting for "
                        + waitingFor
                        + ". Retry shortly.");
    }

    public static ApiError timeout(long millis) {
        return new ApiError(
                504,
                SERVER,
                TIMEOUT,
                null,
                "No answer from the job within the gateway's request timeout of "
                        + millis
                        + " ms. The job may still run the request; its result is not returned"
                        + " here.");
    }

    /**
     * The HTTP answer to an error the job reported: 400 for a request it refused as invalid, 413
     * for one too large to read, 429 when its waiting queue is full, 500 for its own failures and
     * for decoding errors (the gateway writes well-formed Avro, so those are bugs).
     */
    public static ApiError fromJob(GenerationError error) {
        ErrorCode code = error.getCode();
        String message = error.getMessage();
        return switch (code) {
            case MISSING_REQUEST_ID,
                    DUPLICATE_REQUEST_ID,
                    REQUEST_ID_TOO_LONG,
                    EMPTY_PROMPT,
                    PROMPT_TOO_LONG,
                    INVALID_TOKEN_ID,
                    CONTROL_CHARACTERS,
                    INVALID_MAX_NEW_TOKENS,
                    INVALID_TEMPERATURE,
                    INVALID_TOP_P,
                    INVALID_TOP_K,
                    INVALID_PRIORITY,
                    TOO_MANY_STOP_STRINGS,
                    INVALID_STOP_STRING,
                    INVALID_MAX_DRAFT_TOKENS,
                    INVALID_UTF8 ->
                    badRequest(code.name(), paramOf(code), message);
            case PAYLOAD_TOO_LARGE ->
                    new ApiError(413, INVALID_REQUEST, code.name(), "prompt", message);
            case QUEUE_FULL -> new ApiError(429, RATE_LIMIT, code.name(), null, message);
            case EMPTY_PAYLOAD,
                    UNKNOWN_FORMAT,
                    UNKNOWN_SCHEMA,
                    TRUNCATED,
                    MALFORMED_AVRO,
                    MALFORMED_JSON,
                    INTERNAL,
                    UNKNOWN,
                    OUTPUT_TOO_LARGE ->
                    new ApiError(500, SERVER, code.name(), null, message);
        };
    }

    /** The OpenAI request field a job error is about, so clients can point at it. */
    static String paramOf(ErrorCode code) {
        return switch (code) {
            case EMPTY_PROMPT,
                    PROMPT_TOO_LONG,
                    INVALID_TOKEN_ID,
                    CONTROL_CHARACTERS,
                    INVALID_UTF8 ->
                    "prompt";
            case INVALID_MAX_NEW_TOKENS -> "max_tokens";
            case INVALID_TEMPERATURE -> "temperature";
            case INVALID_TOP_P -> "top_p";
            case INVALID_TOP_K -> "top_k";
            case INVALID_PRIORITY -> "priority";
            case INVALID_MAX_DRAFT_TOKENS -> "max_draft_tokens";
            case TOO_MANY_STOP_STRINGS, INVALID_STOP_STRING -> "stop";
            default -> null;
        };
    }

    /** The response body. */
    public ObjectNode toJson() {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return body;
    }
}
