package io.tetris.bench;

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
 * @param requests in arrival order
 */
public record Workload(List<Request> requests) {

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
        return new Workload(requests);
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
        return new Workload(requests.subList(0, Math.min(count, requests.size())));
    }
}
