package io.tetris.job.bench;

import io.tetris.job.kafka.GenerationClient;
import io.tetris.schemas.GenerationRequest;

/**
 * How the open-loop bench reaches the job: sends one request and reports its answer, as it streams
 * in, to the {@link ClientTimings} the transport was opened with. The load loop is the same for
 * every transport, so only the path a request takes differs between them.
 */
public interface Transport extends AutoCloseable {

    /** Sends {@code request} without waiting for its answer. */
    void send(GenerationRequest request) throws Exception;

    @Override
    void close() throws Exception;

    /** Straight to the job's topics: the client's listener is the timings it reports to. */
    static Transport kafka(GenerationClient client) {
        return new Transport() {
            @Override
            public void send(GenerationRequest request) {
                client.send(request);
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }
}
