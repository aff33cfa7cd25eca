package io.tetris.model;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
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
 * Start-up checks of a draft/target pair. {@link #requireCompatible}, before the job is submitted:
 * both files exist and are KV-cache decoders, the tokenizers are one vocabulary, and both models
 * score that same vocabulary, so a bad pair never reaches a task manager. {@link #requireRunnable},
 * on each TaskManager after loading: the model runs a first pass and a step (a graph can load and
 * still fail on its first input). {@link #inspect} does both for {@code tetris models check}.
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
            addOnce(problems, e.getMessage() + fix(e.getMessage()));
        }
        String[] roles = {"draft ", "target"};
        Path[] files = {draft, target};
        for (int m = 0; m < 2; m++) {
            String role = roles[m];
            Path file = files[m];
            DecoderSignature signature;
            try {
                signature = DecoderSignature.read(file);
            } catch (RuntimeException e) {
                lines.add(role + " " + file + ": unreadable");
                addOnce(problems, e.getMessage() + fix(e.getMessage()));
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
                addOnce(problems, e.getMessage() + fix(e.getMessage()));
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
                addOnce(problems, e.getMessage());
            }
        }
        lines.add("context: " + context(target, targetTokenizer, options));
        return new Report(List.copyOf(lines), List.copyOf(problems));
    }

    private static String describe(Path file, DecoderSignature s) {
        JsonObject config = config(file);
        JsonElement queryHeads = config == null ? null : config.get("num_attention_heads");
        String heads = isNumber(queryHeads) ? " (" + queryHeads.getAsInt() + " query heads)" : "";
        return s.layers()
                + " layers, "
                + s.kvHeads()
                + " KV heads"
                + heads
                + " of size "
                + s.headDim()
                + ", "
                + (s.kvType() == DataType.FLOAT16 ? "fp16" : "fp32")
                + " caches, vocabulary "
                + (s.vocab() > 0 ? String.valueOf(s.vocab()) : "dynamic")
                + (s.positionIds() ? ", position_ids" : ", positions from the mask")
                + (s.useCacheBranch() ? ", merged decoder (use_cache_branch)" : "")
                + (s.externalData() ? ", external data" : "");
    }

    /** The context the pair allows, and where that figure comes from. */
    private static String context(Path target, Path tokenizer, OnnxModelOptions options) {
        JsonObject config = config(target);
        String declared = null;
        JsonElement positions = config == null ? null : config.get("max_position_embeddings");
        JsonObject tokenizerConfig = json(tokenizer.resolveSibling(Vocabulary.TOKENIZER_CONFIG));
        JsonElement length =
                tokenizerConfig == null ? null : tokenizerConfig.get("model_max_length");
        if (isNumber(positions)) {
            declared = positions.getAsLong() + " (max_position_embeddings)";
        } else if (isNumber(length) && length.getAsDouble() < 1e9) {
            // transformers writes 1e30 and more for "no limit"
            declared = length.getAsLong() + " (tokenizer_config.json model_max_length)";
        }
        return options.maxContext()
                + " tokens per sequence (tetris.model.max-context)"
                + (declared != null ? "; the model declares " + declared : "");
    }

    private static boolean isNumber(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber();
    }

    private static void addOnce(List<String> problems, String problem) {
        if (!problems.contains(problem)) {
            problems.add(problem);
        }
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
