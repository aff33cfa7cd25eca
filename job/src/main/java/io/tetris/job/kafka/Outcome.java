package io.tetris.job.kafka;

import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import java.util.Objects;

/** How one request ended: with a result or with an error. */
public sealed interface Outcome permits Outcome.Completed, Outcome.Failed {

    /** The request's id. */
    String requestId();

    /** The request finished and its result was committed. */
    record Completed(GenerationResult result) implements Outcome {
        public Completed {
            Objects.requireNonNull(result, "result");
        }

        @Override
        public String requestId() {
            return result.getRequestId();
        }
    }

    /** The job rejected or aborted the request. */
    record Failed(GenerationError error) implements Outcome {
        public Failed {
            Objects.requireNonNull(error, "error");
            Objects.requireNonNull(error.getRequestId(), "error.request_id");
        }

        @Override
        public String requestId() {
            return error.getRequestId();
        }
    }
}
