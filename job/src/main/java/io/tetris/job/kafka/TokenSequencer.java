package io.tetris.job.kafka;

import io.tetris.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns the at-least-once token stream into exactly-once, in-order delivery per request: an event
 * whose (request_id, seq) was already seen is dropped, and an event that arrives before its
 * predecessors is held back until they arrive. Sequence numbers start at 0 without gaps (the
 * TokenEvent contract), which is what makes "the next expected seq" well defined.
 *
 * <p>Not thread-safe: the client's reader thread owns it.
 */
final class TokenSequencer {

    private static final class Stream {
        int next;
        final TreeMap<Integer, TokenEvent> early = new TreeMap<>();
    }

    private final Map<String, Stream> streams = new HashMap<>();
    private long duplicates;

    /**
     * Accepts one event and returns the events now deliverable, in seq order: empty for a duplicate
     * or an early event, otherwise this event followed by any held-back successors.
     */
    List<TokenEvent> accept(TokenEvent event) {
        Stream stream = streams.computeIfAbsent(event.getRequestId(), id -> new Stream());
        int seq = event.getSeq();
        if (seq < stream.next || stream.early.containsKey(seq)) {
            duplicates++;
            return List.of();
        }
        if (seq > stream.next) {
            stream.early.put(seq, event);
            return List.of();
        }
        List<TokenEvent> ready = new ArrayList<>();
        ready.add(event);
        stream.next++;
        TokenEvent successor;
        while ((successor = stream.early.remove(stream.next)) != null) {
            ready.add(successor);
            stream.next++;
        }
        return ready;
    }

    /** The seq the next deliverable event of {@code requestId} must have (0 if none was seen). */
    int nextSeq(String requestId) {
        Stream stream = streams.get(requestId);
        return stream == null ? 0 : stream.next;
    }

    /** Events held back because an earlier seq of the same request is missing. */
    int heldBack(String requestId) {
        Stream stream = streams.get(requestId);
        return stream == null ? 0 : stream.early.size();
    }

    /**
     * Drops everything kept for {@code requestId}. A later event of it starts a new stream at seq
     * 0, so only forget a request whose events no longer matter to the caller.
     */
    void forget(String requestId) {
        streams.remove(requestId);
    }

    /** The requests with kept state (the next expected seq, held-back events). */
    Set<String> requestIds() {
        return streams.keySet();
    }

    /** Events dropped as duplicates so far. */
    long duplicates() {
        return duplicates;
    }
}
