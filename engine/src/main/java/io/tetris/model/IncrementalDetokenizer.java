package io.tetris.model;

import java.util.Arrays;

/**
 * Turns a growing list of token ids into text deltas that are always whole UTF-8 characters. A
 * byte-level token can end in the middle of a multi-byte character; its decoding then ends in
 * U+FFFD, so the delta is held back until a later token completes the character (the approach of
 * Hugging Face's text-generation-inference).
 *
 * <p>Only the tokens since the last emitted boundary are decoded each time, so the cost per token
 * stays constant. Not thread-safe; one per sequence.
 */
public final class IncrementalDetokenizer {

    private static final char REPLACEMENT = '\uFFFD';

    /** A character never needs more than this many tokens (4 bytes, plus context). */
    private static final int MAX_PENDING = 16;

    private final TextTokenizer tokenizer;
    private int[] tokens = new int[16];
    private int count;

    /** Tokens before {@code readOffset} have been emitted as text. */
    private int readOffset;

    /** Decoding restarts here: a little context keeps tokenizers that merge spaces right. */
    private int prefixOffset;

    public IncrementalDetokenizer(TextTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds tokens and returns the text they complete; may be empty. */
    public String append(int[] newTokens) {
        for (int t : newTokens) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, count * 2);
            }
            tokens[count++] = t;
        }
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, count);
        boolean incomplete = !full.isEmpty() && full.charAt(full.length() - 1) == REPLACEMENT;
        if (full.length() > prefix.length() && (!incomplete || count - readOffset > MAX_PENDING)) {
            String delta = full.substring(prefix.length());
            prefixOffset = readOffset;
            readOffset = count;
            return delta;
        }
        return "";
    }

    /**
     * Text held back waiting for more bytes, decoded as is (with U+FFFD) at the end of a stream.
     */
    public String flush() {
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, count);
        prefixOffset = readOffset;
        readOffset = count;
        return full.length() > prefix.length() ? full.substring(prefix.length()) : "";
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(tokens, from, to));
    }
}
