package io.tetris.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Start-up check that a draft/target pair can do speculative decoding together: both files exist
 * and are KV-cache decoders, the tokenizers are one vocabulary, and both models score that same
 * vocabulary. Runs before the job is submitted, so a bad pair never reaches a task manager.
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
}
