package io.tetris.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Start-up check that a draft/target pair can do speculative decoding together: both files exist
 * and are KV-cache decoders, the tokenizers are one vocabulary, both models score that same
 * vocabulary, and each model runs a first pass (a graph can load and still fail on its first
 * input). Runs before the job is submitted, so a bad pair never reaches a task manager; {@link
 * #inspect} reports the same for {@code tetris models check}.
 */
public final class ModelCheck {

    private ModelCheck() {}

    /** Throws {@link IllegalArgumentException} listing every problem found. */
    public static void requireCompatible(
            Path draft, Path target, Path draftTokenizer, Path targetTokenizer) {
        List<String> problems = new ArrayList<>();
        for (Path file : List.of(draft, target, draftTokenizer, targetTokenizer)) {
            if (!Files.isRegularFile(file)) {
                problems.add("file not found: " + file);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        Vocabulary targetVocabulary = Vocabulary.read(targetTokenizer);
        Vocabulary draftVocabulary = Vocabulary.read(draftTokenizer);
        draftVocabulary.requireSameAs(targetVocabulary, "draft", "target");
        DecoderSignature draftSignature = DecoderSignature.read(draft);
        DecoderSignature targetSignature = DecoderSignature.read(target);
        int draftWidth = draftSignature.vocab();
        int targetWidth = targetSignature.vocab();
        if (draftWidth > 0 && targetWidth > 0 && draftWidth != targetWidth) {
            throw new IllegalArgumentException(
                    "the draft model scores "
                            + draftWidth
                            + " tokens but the target "
                            + targetWidth
                            + "; speculative decoding needs one shared vocabulary");
        }
        int width = Math.max(draftWidth, targetWidth);
        if (width > 0 && width < targetVocabulary.size()) {
            throw new IllegalArgumentException(
                    "the models score "
                            + width
                            + " tokens but the tokenizer "
                            + targetTokenizer
                            + " has "
                            + targetVocabulary.size());
        }
    }

    /**
     * Runs a short prompt and a one-token step with a past through {@code model}, the two shapes
     * every round uses; fails naming the file and the runtime's error when the graph cannot run.
     */
    public static void requireRunnable(LanguageModel model, Path file) {
        String sequence = "tetris.model-check";
        int vocab = model.vocabSize();
        try {
            model.extend(List.of(new LanguageModel.Extension(sequence, new int[] {0, 1 % vocab})));
            model.extend(List.of(new LanguageModel.Extension(sequence, new int[] {2 % vocab})));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "the model "
                            + file
                            + " loads but its first forward pass fails: "
                            + rootMessage(e)
                            + ". Check the export with ONNX Runtime on its own; an fp32 export"
                            + " with opset 14 or later from optimum-cli (task"
                            + " text-generation-with-past) is known to work",
                    e);
        } finally {
            try {
                model.release(sequence);
            } catch (RuntimeException ignored) {
                // the pass failed before the sequence existed
            }
        }
    }

    /** What {@link #inspect} found: lines to print, and the problems that make it unusable. */
    public record Report(List<String> lines, List<String> problems) {
        public boolean usable() {
            return problems.isEmpty();
        }
    }

    /**
     * Reads and runs a pair as the job would, collecting what the graphs say and every problem with
     * the fix, instead of stopping at the first.
     */
    public static Report inspect(
            Path draft,
            Path target,
            Path draftTokenizer,
            Path targetTokenizer,
            OnnxModelOptions options) {
        List<String> lines = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try {
            requireCompatible(draft, target, draftTokenizer, targetTokenizer);
        } catch (RuntimeException e) {
            problems.add(e.getMessage() + fix(e.getMessage()));
        }
        for (Path file : List.of(draft, target)) {
            String role = file.equals(draft) ? "draft " : "target";
            DecoderSignature signature;
            try {
                signature = DecoderSignature.read(file);
            } catch (RuntimeException e) {
                lines.add(role + " " + file + ": unreadable");
                continue;
            }
            lines.add(role + " " + file + ": " + describe(file, signature));
            try (OnnxLanguageModel model = OnnxLanguageModel.load(file, options)) {
                requireRunnable(model, file);
                lines.add(
                        "       runs: KV caches "
                                + model.kvCacheDescription()
                                + ", vocabulary "
                                + model.vocabSize()
                                + ", first pass and a step with a past ok");
            } catch (RuntimeException e) {
                problems.add(e.getMessage() + fix(e.getMessage()));
            }
        }
        if (Files.isRegularFile(targetTokenizer)) {
            try {
                Vocabulary vocabulary = Vocabulary.read(targetTokenizer);
                int eos = vocabulary.endOfTextId();
                lines.add(
                        "tokenizer "
                                + targetTokenizer
                                + ": "
                                + vocabulary.size()
                                + " ids, end of text "
                                + (eos < 0 ? "none (generations stop at their length)" : eos)
                                + (draftTokenizer.equals(targetTokenizer)
                                        ? ", shared by both models"
                                        : ", draft tokenizer " + draftTokenizer));
            } catch (RuntimeException e) {
                lines.add("tokenizer " + targetTokenizer + ": unreadable");
            }
        }
        lines.add("context: " + context(target, targetTokenizer, options));
        return new Report(List.copyOf(lines), List.copyOf(problems));
    }

    private static String describe(Path file, DecoderSignature s) {
        JsonObject config = config(file);
        String heads =
                config != null && config.has("num_attention_heads")
                        ? " (" + config.get("num_attention_heads").getAsInt() + " query heads)"
                        : "";
        return s.layers()
                + " layers, "
                + s.kvHeads()
                + " KV heads"
                + heads
                + " of size "
                + s.headDim()
                + ", "
                + (s.kvType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT16
                        ? "fp16"
                        : "fp32")
                + " caches, vocabulary "
                + (s.vocab() > 0 ? String.valueOf(s.vocab()) : "dynamic")
                + (s.positionIds() ? ", position_ids" : ", positions from the mask")
                + (s.useCacheBranch() ? ", merged decoder (use_cache_branch)" : "")
                + (Files.isRegularFile(Path.of(file + ".data")) ? ", external data" : "");
    }

    /** The context the pair allows, and where that figure comes from. */
    private static String context(Path target, Path tokenizer, OnnxModelOptions options) {
        JsonObject config = config(target);
        String declared = null;
        if (config != null && config.has("max_position_embeddings")) {
            declared =
                    config.get("max_position_embeddings").getAsLong()
                            + " (max_position_embeddings)";
        } else {
            JsonObject tokenizerConfig = json(tokenizer.resolveSibling("tokenizer_config.json"));
            JsonElement length =
                    tokenizerConfig == null ? null : tokenizerConfig.get("model_max_length");
            if (length != null && length.getAsDouble() < 1e9) {
                declared = length.getAsLong() + " (tokenizer_config.json model_max_length)";
            }
        }
        return options.maxContext()
                + " tokens per sequence (tetris.model.max-context)"
                + (declared != null ? "; the model declares " + declared : "");
    }

    /** {@code config_<stem>.json} or {@code config.json} beside the model, if any. */
    private static JsonObject config(Path model) {
        String stem = model.getFileName().toString().replaceFirst("\\.onnx$", "");
        JsonObject own = json(model.resolveSibling("config_" + stem + ".json"));
        return own != null ? own : json(model.resolveSibling("config.json"));
    }

    private static JsonObject json(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement root = JsonParser.parseReader(reader);
            return root.isJsonObject() ? root.getAsJsonObject() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** What to do about a problem, for the messages that do not say it themselves. */
    private static String fix(String problem) {
        String p = String.valueOf(problem);
        if (p.contains("tokenizers differ") || p.contains("scores")) {
            return " Fix: take the draft from the target's model family, so both use one"
                    + " tokenizer.";
        }
        if (p.contains("not an Optimum-style decoder")) {
            return " Fix: export with the KV cache, e.g. optimum-cli export onnx --task"
                    + " text-generation-with-past.";
        }
        if (p.contains("file not found")) {
            return " Fix: the folder needs draft.onnx, target.onnx and tokenizer.json.";
        }
        return "";
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return String.valueOf(root.getMessage());
    }
}
