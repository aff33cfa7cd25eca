package io.tetris.measure;

import io.tetris.engine.CachedModel;
import io.tetris.model.OnnxModelOptions;
import io.tetris.model.TextTokenizer;
import java.util.Objects;

/**
 * The draft and target models and the tokenizer, loaded once and shared by every run of a benchmark
 * so loading does not count and caches start empty each run.
 *
 * @param draft the draft model
 * @param target the target model
 * @param tokenizer their shared tokenizer
 * @param maxContext the models' context length
 */
public record BenchModels(
        CachedModel draft, CachedModel target, TextTokenizer tokenizer, int maxContext)
        implements AutoCloseable {

    public BenchModels {
        Objects.requireNonNull(draft, "draft");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(tokenizer, "tokenizer");
    }

    /** Loads the given ONNX files and tokenizer with the given runtime options. */
    public static BenchModels load(
            String draft, String target, String tokenizer, OnnxModelOptions options) {
        return new BenchModels(
                CachedModel.load(draft, options),
                CachedModel.load(target, options),
                io.tetris.model.HuggingFaceTextTokenizer.load(java.nio.file.Paths.get(tokenizer)),
                options.maxContext());
    }

    @Override
    public void close() throws Exception {
        try (tokenizer;
                draft;
                target) {
            // closes all three, whichever fails
        }
    }
}
