package io.tetris.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} loaded through DJL's tokenizers binding, offline.
 *
 * <p>Encoding and decoding are exactly the tokenizer.json's pipeline: DJL is given the file, and
 * then applies no {@code tokenizer_config.json} beside it. That is on purpose: {@code
 * clean_up_tokenization_spaces} (true for Llama 3) would rewrite " ," to "," after decoding, which
 * depends on where a decoded slice starts, so the {@link IncrementalDetokenizer} deltas would not
 * always add up to the text; {@code add_prefix_space} and {@code strip_accents} would change
 * encoding; and DJL's reader of that file fails on Llama 3's {@code model_max_length} of 10^30. The
 * file only names the end-of-text token, through {@link Vocabulary#endOfTextId()}.
 */
public final class HuggingFaceTextTokenizer implements TextTokenizer {

    private final HuggingFaceTokenizer tokenizer;
    private final Path source;
    private final int vocabSize;
    private final int endOfTextId;

    private final Vocabulary vocabulary;

    private HuggingFaceTextTokenizer(
            HuggingFaceTokenizer tokenizer, Path source, Vocabulary vocabulary) {
        this.tokenizer = tokenizer;
        this.source = source;
        this.vocabulary = vocabulary;
        this.vocabSize = vocabulary.size();
        this.endOfTextId = vocabulary.endOfTextId();
    }

    /** Loads {@code tokenizer.json}; fails with the path when it is missing or malformed. */
    public static HuggingFaceTextTokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException("tokenizer file not found: " + tokenizerJson);
        }
        Vocabulary vocabulary = Vocabulary.read(tokenizerJson);
        DjlRuntime.ensureOffline();
        try {
            HuggingFaceTokenizer tokenizer =
                    HuggingFaceTokenizer.newInstance(
                            tokenizerJson,
                            Map.of("addSpecialTokens", "false", "truncation", "false"));
            return new HuggingFaceTextTokenizer(tokenizer, tokenizerJson, vocabulary);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + tokenizerJson, e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] tokens) {
        long[] ids = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = tokens[i];
        }
        return tokenizer.decode(ids, false);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int endOfTextId() {
        return endOfTextId;
    }

    /** Token-to-id map, to check that two models really share one vocabulary. */
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /** Where the tokenizer was loaded from, for error messages. */
    public Path source() {
        return source;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
