package io.tetris.measure;

import io.tetris.core.SamplingParams;
import io.tetris.model.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark's fixed workload: every configuration generates exactly these requests, so their
 * outputs (greedy, and sampled with coupled verification) are identical and only time and
 * speculation counters differ.
 *
 * @param name what the bench calls it ({@value #HELD_OUT} or {@value #MIXED})
 * @param requests in arrival order
 */
public record Workload(String name, List<Request> requests) {

    /** Held-out prompts only: text the models never saw, the hard case for a draft. */
    public static final String HELD_OUT = "held-out";

    /**
     * Half held-out prompts, half formulaic ones (separator lines, list openings, fortune and joke
     * formulas, glossary headers) whose continuations the draft predicts well, in a seeded random
     * order: traffic where easy and hard requests share a batch.
     */
    public static final String MIXED = "mixed";

    /** Temperature of the sampled half of the workload. */
    public static final double SAMPLED_TEMPERATURE = 0.8;

    /**
     * One request.
     *
     * @param id unique within the workload, also its KV-cache key
     * @param prompt {@code [tokens]} the encoded prompt
     * @param params greedy or sampled
     * @param seed per-request seed of its sampling noise
     * @param maxNewTokens tokens to generate at most
     */
    public record Request(
            String id, int[] prompt, SamplingParams params, long seed, int maxNewTokens) {}

    public Workload {
        requests = List.copyOf(requests);
    }

    public Workload(List<Request> requests) {
        this(HELD_OUT, requests);
    }

    /**
     * {@code count} requests cycling through {@code prompts}; even-numbered ones greedy, odd ones
     * sampled at {@link #SAMPLED_TEMPERATURE} with seed {@code seed + index}.
     */
    public static Workload of(
            List<String> prompts, TextTokenizer tokenizer, int count, int maxNewTokens, long seed) {
        if (prompts.isEmpty() || count < 1 || maxNewTokens < 1) {
            throw new IllegalArgumentException(
                    "a workload needs prompts, count >= 1 and max new tokens >= 1");
        }
        SamplingParams sampled = new SamplingParams(SAMPLED_TEMPERATURE, 0, 1.0);
        List<Request> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requests.add(
                    new Request(
                            "bench-" + i,
                            tokenizer.encode(prompts.get(i % prompts.size())),
                            i % 2 == 0 ? SamplingParams.GREEDY : sampled,
                            seed + i,
                            maxNewTokens));
        }
        return new Workload(HELD_OUT, requests);
    }

    /**
     * {@code count} requests, half from {@code hard} and half from {@code easy} (each pool cycled
     * in order), in an order shuffled with {@code seed}; as in {@link #of}, even-numbered requests
     * are greedy and odd ones sampled, with seed {@code seed + index}.
     */
    public static Workload mixed(
            List<String> hard,
            List<String> easy,
            TextTokenizer tokenizer,
            int count,
            int maxNewTokens,
            long seed) {
        if (hard.isEmpty() || easy.isEmpty() || count < 1 || maxNewTokens < 1) {
            throw new IllegalArgumentException(
                    "a mixed workload needs both prompt pools, count >= 1 and max new tokens >= 1");
        }
        List<Boolean> isEasy = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            isEasy.add(i % 2 == 1);
        }
        java.util.Collections.shuffle(isEasy, new java.util.Random(seed));
        SamplingParams sampled = new SamplingParams(SAMPLED_TEMPERATURE, 0, 1.0);
        List<Request> requests = new ArrayList<>(count);
        int hardNext = 0;
        int easyNext = 0;
        for (int i = 0; i < count; i++) {
            String prompt =
                    isEasy.get(i)
                            ? easy.get(easyNext++ % easy.size())
                            : hard.get(hardNext++ % hard.size());
            requests.add(
                    new Request(
                            "mixed-" + i,
                            tokenizer.encode(prompt),
                            i % 2 == 0 ? SamplingParams.GREEDY : sampled,
                            seed + i,
                            maxNewTokens));
        }
        return new Workload(MIXED, requests);
    }

    /** Non-blank lines of a prompt file. */
    public static List<String> readPrompts(Path file) throws IOException {
        List<String> prompts =
                Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                        .filter(line -> !line.isBlank())
                        .toList();
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no prompts");
        }
        return prompts;
    }

    /** The first {@code count} requests. */
    public Workload first(int count) {
        return new Workload(name, requests.subList(0, Math.min(count, requests.size())));
    }
}
