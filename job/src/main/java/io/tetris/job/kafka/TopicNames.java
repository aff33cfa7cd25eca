package io.tetris.job.kafka;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The four topics of the job's Kafka interface (DESIGN.md section 4).
 *
 * <p>Validated on construction, because a misspelt or shared topic name would otherwise surface
 * much later as a job reading its own output or a client waiting forever: every name must be a
 * legal Kafka topic name and the four must be distinct.
 *
 * @param requests {@code GenerationRequest}s in (Avro single-object or JSON)
 * @param tokens streamed {@code TokenEvent}s out, at-least-once
 * @param results {@code GenerationResult}s out, exactly-once (transactional)
 * @param errors {@code GenerationError}s out, at-least-once
 */
public record TopicNames(String requests, String tokens, String results, String errors) {

    public static final String DEFAULT_REQUESTS = "tetris.requests";
    public static final String DEFAULT_TOKENS = "tetris.tokens";
    public static final String DEFAULT_RESULTS = "tetris.results";
    public static final String DEFAULT_ERRORS = "tetris.errors";

    /** Kafka's own rule: ASCII letters, digits, '.', '_' and '-', at most 249 characters. */
    private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public TopicNames {
        check("requests", requests);
        check("tokens", tokens);
        check("results", results);
        check("errors", errors);
        Set<String> seen = new HashSet<>();
        for (String name : List.of(requests, tokens, results, errors)) {
            if (!seen.add(name)) {
                throw new IllegalArgumentException(
                        "topic names must be distinct, but '" + name + "' is used twice");
            }
        }
    }

    /**
     * {@code tetris.requests}, {@code tetris.tokens}, {@code tetris.results}, {@code
     * tetris.errors}.
     */
    public static TopicNames defaults() {
        return new TopicNames(DEFAULT_REQUESTS, DEFAULT_TOKENS, DEFAULT_RESULTS, DEFAULT_ERRORS);
    }

    /**
     * {@code <prefix>.requests}, {@code <prefix>.tokens}, {@code <prefix>.results}, {@code
     * <prefix>.errors}: one call to give a whole deployment (or a test) its own topics.
     */
    public static TopicNames withPrefix(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        return new TopicNames(
                prefix + ".requests", prefix + ".tokens", prefix + ".results", prefix + ".errors");
    }

    /** The four names in the order requests, tokens, results, errors. */
    public List<String> all() {
        return List.of(requests, tokens, results, errors);
    }

    /** The topics a client reads answers from: tokens, results, errors. */
    public List<String> responses() {
        return List.of(tokens, results, errors);
    }

    private static void check(String role, String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("the " + role + " topic name must not be blank");
        }
        if (!LEGAL.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "the "
                            + role
                            + " topic name '"
                            + name
                            + "' is not a legal Kafka topic name (letters, digits, '.', '_', '-';"
                            + " at most 249 characters)");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException(
                    "the " + role + " topic name must not be '.' or '..'");
        }
    }
}
