package io.tetris.job.gateway;

import java.util.Objects;

/** Thrown while reading a request that the gateway answers with {@link #error()} instead. */
public final class ApiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient ApiError error;

    public ApiException(ApiError error) {
        super(Objects.requireNonNull(error, "error").message(), null, false, false);
        this.error = error;
    }

    public ApiError error() {
        return error;
    }
}
