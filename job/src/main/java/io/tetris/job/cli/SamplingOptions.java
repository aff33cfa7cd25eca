package io.tetris.job.cli;

import io.tetris.schemas.GenerationRequest;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Per-request generation options of the client commands. */
final class SamplingOptions {

    /** A field's default in the requests topic's schema: the one place it is written. */
    static Number requestDefault(String field) {
        return (Number) GenerationRequest.getClassSchema().getField(field).defaultVal();
    }

    @Option(
            names = "--max-new-tokens",
            description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = requestDefault("max_new_tokens").intValue();

    @Option(
            names = "--temperature",
            description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature = requestDefault("temperature").floatValue();

    @Option(
            names = "--top-p",
            description = "Nucleus sampling mass in (0, 1] (default: ${DEFAULT-VALUE}).")
    float topP = requestDefault("top_p").floatValue();

    @Option(
            names = "--top-k",
            description =
                    "Sample from the k most likely tokens; 0 is off (default: ${DEFAULT-VALUE}).")
    int topK = requestDefault("top_k").intValue();

    @Option(names = "--seed", description = "Random seed for sampling (default: ${DEFAULT-VALUE}).")
    long seed = requestDefault("seed").longValue();

    @Option(
            names = "--stop",
            paramLabel = "TEXT",
            description = "Stop generating at this text, which is not returned (repeatable).")
    List<String> stop = new ArrayList<>();

    GenerationRequest request(String id, String prompt) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt(prompt)
                .setMaxNewTokens(maxNewTokens)
                .setTemperature(temperature)
                .setTopP(topP)
                .setTopK(topK)
                .setSeed(seed)
                .setStop(new ArrayList<>(stop))
                .setCreatedAtMs(System.currentTimeMillis())
                .build();
    }
}
