package io.tetris.schemas;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Outcome of decoding one Kafka value: either the record ({@link Ok}) or a typed {@link
 * DecodeFailure} ({@link Failed}).
 *
 * <p>The codecs return this instead of throwing because bad input is an expected, per-record event
 * in a streaming job: it must become a {@link GenerationError} on the errors topic, never an
 * exception that fails the task and replays the poison record forever.
 *
 * @param <T> the record type
 */
public sealed interface Decoded<T> permits Decoded.Ok, Decoded.Failed {

    /** A successfully decoded record. */
    record Ok<T>(T value) implements Decoded<T> {
        public Ok {
            Objects.requireNonNull(value, "value");
        }
    }

    /** A value that could not be decoded, and why. */
    record Failed<T>(DecodeFailure failure) implements Decoded<T> {
        public Failed {
            Objects.requireNonNull(failure, "failure");
        }
    }

    static <T> Decoded<T> ok(T value) {
        return new Ok<>(value);
    }

    static <T> Decoded<T> failed(DecodeFailure failure) {
        return new Failed<>(failure);
    }

    static <T> Decoded<T> failed(ErrorCode code, String reason) {
        return new Failed<>(new DecodeFailure(code, reason));
    }

    /** Whether this is an {@link Ok}. */
    default boolean isOk() {
        return this instanceof Ok;
    }

    /** The record, or empty when decoding failed. */
    default Optional<T> toOptional() {
        return this instanceof Ok<T> ok ? Optional.of(ok.value()) : Optional.empty();
    }

    /** The failure, or empty when decoding succeeded. */
    default Optional<DecodeFailure> asFailure() {
        return this instanceof Failed<T> failed ? Optional.of(failed.failure()) : Optional.empty();
    }

    /** Applies {@code onOk} to the record or {@code onFailure} to the failure. */
    default <R> R fold(
            Function<? super T, ? extends R> onOk,
            Function<? super DecodeFailure, ? extends R> onFailure) {
        if (this instanceof Ok<T> ok) {
            return onOk.apply(ok.value());
        }
        return onFailure.apply(((Failed<T>) this).failure());
    }
}
