package io.tetris.job.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * One streamed completion from the gateway, read line by line as its server-sent events arrive,
 * each timed on arrival: chunks with text are the tokens a user sees, the chunk with a {@code
 * finish_reason} ends the answer, and the usage chunk ({@code stream_options.include_usage}) says
 * how many tokens it had. The usage chunk waits for the job's committed result, so the end-to-end
 * latency stops at the finish, not at it. At {@code data: [DONE]} the request goes to {@link
 * ClientTimings#streamed}; anything else that ends the stream fails the request, with the reason.
 */
final class CompletionStream implements Flow.Subscriber<String> {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final String id;
    private final ClientTimings timings;
    private final LongSupplier clock;
    private final Consumer<String> failures;
    private final List<Long> chunks = new ArrayList<>();
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private long finishedAt = -1;
    private int tokens = -1;
    private boolean settled;

    /**
     * @param failures told {@code "<id>: <why>"} once if the request fails
     */
    CompletionStream(
            String id, ClientTimings timings, LongSupplier clock, Consumer<String> failures) {
        this.id = id;
        this.timings = timings;
        this.clock = clock;
        this.failures = failures;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
        line(line);
    }

    @Override
    public void onError(Throwable failure) {
        failed("the stream broke off: " + failure);
    }

    @Override
    public void onComplete() {
        failed("the stream ended before data: [DONE]");
    }

    /** One line of the event stream (without its line break). */
    synchronized void line(String line) {
        if (settled) {
            return;
        }
        if (line.isEmpty()) {
            // A blank line dispatches the event; its data lines were joined with line breaks.
            if (hasData) {
                String payload = data.toString();
                data.setLength(0);
                hasData = false;
                event(payload);
            }
            return;
        }
        if (line.startsWith(":")) {
            return; // a comment, such as a keep-alive
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        if (!field.equals("data")) {
            return; // event, id and retry fields mean nothing to a completion
        }
        String value = colon < 0 ? "" : line.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        if (hasData) {
            data.append('\n');
        }
        data.append(value);
        hasData = true;
    }

    /** The request failed for {@code why}, unless it was settled already. */
    synchronized void failed(String why) {
        if (settled) {
            return;
        }
        settled = true;
        timings.failed(id);
        failures.accept(id + ": " + why);
    }

    private void event(String payload) {
        long now = clock.getAsLong();
        if (payload.equals("[DONE]")) {
            done();
            return;
        }
        JsonNode chunk;
        try {
            chunk = MAPPER.readTree(payload);
        } catch (JsonProcessingException e) {
            failed("a streamed event is not JSON: " + abbreviate(payload));
            return;
        }
        JsonNode error = chunk.get("error");
        if (error != null && error.isObject()) {
            failed("error event " + describe(error));
            return;
        }
        JsonNode choice = chunk.path("choices").path(0);
        if (!choice.path("text").asText("").isEmpty()) {
            chunks.add(now);
        }
        JsonNode finish = choice.get("finish_reason");
        if (finish != null && !finish.isNull() && finishedAt < 0) {
            finishedAt = now;
        }
        JsonNode completionTokens = chunk.path("usage").get("completion_tokens");
        if (completionTokens != null && completionTokens.canConvertToInt()) {
            tokens = completionTokens.intValue();
        }
    }

    private void done() {
        if (finishedAt < 0) {
            failed("the stream ended without a finish_reason");
        } else if (tokens < 0) {
            failed("the stream had no usage chunk, so its tokens cannot be counted");
        } else {
            settled = true;
            timings.streamed(
                    id, chunks.stream().mapToLong(Long::longValue).toArray(), finishedAt, tokens);
        }
    }

    /** An OpenAI error object as {@code CODE: message}. */
    static String describe(JsonNode error) {
        String code = error.path("code").asText("");
        String message = error.path("message").asText("");
        return code.isEmpty() ? message : code + ": " + message;
    }

    static String abbreviate(String text) {
        String line = text.strip().replace('\n', ' ');
        return line.length() <= 200 ? line : line.substring(0, 200) + "...";
    }
}
