package io.tetris.job.kafka;

import io.tetris.schemas.GenerationError;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The record values a {@link GenerationClient} sent, by request id: the job reports a request it
 * cannot read with no request id but with the bytes it got, and these tell whose they were.
 * Thread-safe.
 */
final class SentValues {

    private final Map<String, byte[]> values = new ConcurrentHashMap<>();

    void put(String requestId, byte[] value) {
        values.put(requestId, value);
    }

    void forget(String requestId) {
        values.remove(requestId);
    }

    /** The ids a value is kept for. */
    Set<String> requestIds() {
        return values.keySet();
    }

    /**
     * Fills in the request id of an error the job could not attribute: from the record key, or from
     * the value sent whose bytes the error carries.
     */
    GenerationError attribute(GenerationError error, byte[] key) {
        if (error.getRequestId() != null) {
            return error;
        }
        String id = key == null ? null : new String(key, StandardCharsets.UTF_8);
        if (id == null && error.getPayload() != null) {
            id = matching(error);
        }
        return id == null ? error : GenerationError.newBuilder(error).setRequestId(id).build();
    }

    /** The id whose value starts with the error's payload and has its size, if any. */
    private String matching(GenerationError error) {
        ByteBuffer buffer = error.getPayload().duplicate();
        byte[] stored = new byte[buffer.remaining()];
        buffer.get(stored);
        for (Map.Entry<String, byte[]> e : values.entrySet()) {
            byte[] value = e.getValue();
            if (value.length == error.getPayloadSize()
                    && value.length >= stored.length
                    && Arrays.equals(value, 0, stored.length, stored, 0, stored.length)) {
                return e.getKey();
            }
        }
        return null;
    }
}
