package io.tetris.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.TopicNames;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a read_committed consumer sees of a run: the results with how often each request's was
 * committed, and the token events de-duplicated by (request_id, seq), with replays whose content
 * differs from the first copy.
 */
public record CommittedOutcome(
        Map<String, GenerationResult> results,
        Map<String, Integer> counts,
        Map<String, String> events,
        List<String> conflictingEvents) {

    public static CommittedOutcome read(KafkaClientSettings kafka, TopicNames topics) {
        Map<String, GenerationResult> results = new HashMap<>();
        Map<String, Integer> counts = new TreeMap<>();
        for (byte[] value : TopicReader.readAll(kafka, topics.results())) {
            GenerationResult r = SingleObjectCodec.RESULT.decode(value).toOptional().orElseThrow();
            results.put(r.getRequestId(), r);
            counts.merge(r.getRequestId(), 1, Integer::sum);
        }
        Map<String, String> events = new TreeMap<>();
        List<String> conflicts = new ArrayList<>();
        for (byte[] value : TopicReader.readAll(kafka, topics.tokens())) {
            TokenEvent e = SingleObjectCodec.TOKEN_EVENT.decode(value).toOptional().orElseThrow();
            String content = e.getTokenIds() + "|" + e.getText() + "|" + e.getFinished();
            String previous = events.putIfAbsent(e.getRequestId() + "#" + e.getSeq(), content);
            if (previous != null && !previous.equals(content)) {
                conflicts.add(e.toString());
            }
        }
        return new CommittedOutcome(results, counts, events, conflicts);
    }

    /**
     * Asserts exactly one committed result per request of {@code clean}, equal to it, and the same
     * de-duplicated token events, each replay repeating its content.
     */
    public void assertSameAs(CommittedOutcome clean) {
        assertThat(counts).as("committed results per request").hasSameSizeAs(clean.results);
        assertThat(counts.values()).as("committed results per request").containsOnly(1);
        assertThat(results.keySet()).isEqualTo(clean.results.keySet());
        for (String id : clean.results.keySet()) {
            GenerationResult a = clean.results.get(id);
            GenerationResult b = results.get(id);
            assertThat(b.getTokenIds()).as(id).isEqualTo(a.getTokenIds());
            assertThat(b.getText()).as(id).isEqualTo(a.getText());
            assertThat(b.getFinishReason()).as(id).isEqualTo(a.getFinishReason());
        }
        assertThat(conflictingEvents).as("replayed events repeat their content").isEmpty();
        assertThat(events).isEqualTo(clean.events);
    }
}
