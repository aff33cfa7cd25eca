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
