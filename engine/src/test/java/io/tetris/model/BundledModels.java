package io.tetris.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the repository's bundled {@code models/} folder from a test's working directory. */
public final class BundledModels {

    /** The bundled pair's position table. */
    public static final int CONTEXT = 512;

    private BundledModels() {}

    public static Path dir() {
        String override = System.getProperty("tetris.models.dir");
        if (override != null) {
            return Paths.get(override);
        }
        Path dir = Paths.get("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve("models");
            if (Files.isRegularFile(candidate.resolve("tokenizer.json"))) {
                return candidate;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("no models/tokenizer.json above the working directory");
    }

    public static Path target() {
        return dir().resolve("target.onnx");
    }

    public static Path draft() {
        return dir().resolve("draft.onnx");
    }

    /**
     * Largest difference of two fp16 log-probabilities that are the same number: fp16 keeps 11
     * significant bits, a relative step of 2^-11 ≈ 4.9e-4. The log-probabilities compared are
     * around -5 to -15, where one step is 0.004 to 0.008, and each of the target's four layers
     * rounds its activations again; 0.05 allows a few such steps per layer and is still far below
     * the gap between a right and a wrong graph (a wrong rotary angle or a missing mask moves
     * log-probabilities by whole units). Measured: 0.0077 (target) and 0.0104 (draft) against
     * PyTorch's fp32 logits.
     */
    public static final double FP16_LOG_PROB_TOLERANCE = 0.05;

    /** The Llama-style pair in one of its exports: {@code fp32} or {@code fp16}. */
    public static Path llama(String variant) {
        return dir().resolve("llama").resolve(variant);
    }

    public static Path tokenizer() {
        return dir().resolve("tokenizer.json");
    }

    public static OnnxLanguageModel load(Path file) {
        return load(file, OnnxModelOptions.KvCacheMode.NATIVE);
    }

    public static OnnxLanguageModel load(Path file, OnnxModelOptions.KvCacheMode kvCache) {
        return OnnxLanguageModel.load(
                file, OnnxModelOptions.defaults(CONTEXT).withThreads(1, 1).withKvCache(kvCache));
    }
}
