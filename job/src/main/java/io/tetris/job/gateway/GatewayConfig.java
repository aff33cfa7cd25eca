package io.tetris.job.gateway;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of {@code tetris gateway}, checked when built so that a bad value fails at start with a
 * message naming the option rather than at the first request.
 *
 * @param host the address to listen on ({@code 127.0.0.1} keeps the gateway local; it has no
 *     authentication of its own)
 * @param port the TCP port, 0 for any free one
 * @param servedModelName the model name clients send and {@code GET /v1/models} lists
 * @param requestTimeout how long one HTTP request may wait for the job; then 504
 * @param maxInFlight HTTP requests the gateway holds at once; more get 429
 * @param defaultMaxTokens {@code max_tokens} of a request that does not say (OpenAI's default is
 *     16)
 * @param maxBodyBytes largest request body read; larger ones get 413
 */
public record GatewayConfig(
        String host,
        int port,
        String servedModelName,
        Duration requestTimeout,
        int maxInFlight,
        int defaultMaxTokens,
        int maxBodyBytes) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8000;
    public static final String DEFAULT_MODEL_NAME = "tetris";
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(300);
    public static final int DEFAULT_MAX_IN_FLIGHT = 1024;
    public static final int DEFAULT_MAX_TOKENS = 16;
    public static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;

    public GatewayConfig {
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("--host must name an address, e.g. 127.0.0.1");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be in 0..65535, got " + port);
        }
        if (servedModelName == null
                || servedModelName.isBlank()
                || !servedModelName.equals(servedModelName.strip())) {
            throw new IllegalArgumentException(
                    "--served-model-name must be non-empty without surrounding spaces, got '"
                            + servedModelName
                            + "'");
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException(
                    "--request-timeout must be positive, got " + requestTimeout.toMillis() + " ms");
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException(
                    "--max-in-flight must be at least 1, got " + maxInFlight);
        }
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException(
                    "--default-max-tokens must be at least 1, got " + defaultMaxTokens);
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException(
                    "--max-body-bytes must be at least 1024, got " + maxBodyBytes);
        }
        host = host.strip();
    }

    /**
     * Defaults everywhere but the port, the model name and the timeout (for tests and embedding).
     */
    public static GatewayConfig of(int port, String servedModelName, Duration requestTimeout) {
        return new GatewayConfig(
                DEFAULT_HOST,
                port,
                servedModelName,
                requestTimeout,
                DEFAULT_MAX_IN_FLIGHT,
                DEFAULT_MAX_TOKENS,
                DEFAULT_MAX_BODY_BYTES);
    }

    /** A copy with another bound on requests in flight. */
    public GatewayConfig withMaxInFlight(int max) {
        return new GatewayConfig(
                host, port, servedModelName, requestTimeout, max, defaultMaxTokens, maxBodyBytes);
    }
}
