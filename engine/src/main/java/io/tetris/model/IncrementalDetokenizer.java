package io.tetris.model;

import java.util.Arrays;

/**
 * Turns a growing list of token ids into text deltas that are always whole UTF-8 characters. A
 * byte-level token can end in the middle of a multi-byte character; its decoding then ends in
 * U+FFFD, so the delta is held back until a later token completes the character (the approach of
 * Hugging Face's text-generation-inference). A byte-fallback decoder (sentencepiece's {@code
 * <0xE6>} pieces) decodes the whole run of byte pieces to U+FFFDs while its last character is
 * incomplete, complete characters before it included; that too ends in U+FFFD and is held back.
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

    /**
     * Adds tokens and returns the text they complete; may be empty. When they end inside a
     * character, the text up to the last token that ends a whole character is still returned, as if
     * they had come one at a time.
     */
    public String append(int[] newTokens) {
        int start = count;
        for (int t : newTokens) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, count * 2);
            }
            tokens[count++] = t;
        }
        if (count == start) {
            return "";
        }
        // Usually the last token ends a character: one step for all of them.
        String delta = emitUpTo(count, false);
        if (delta != null) {
            return delta;
        }
        // Otherwise each token's step in turn (a bounded window each, so still constant per
        // token): holding back all of them would delay whole characters, and let the tokens
        // pending pass MAX_PENDING and force out a character cut in two.
        StringBuilder out = new StringBuilder();
        for (int end = start + 1; end <= count; end++) {
            delta = emitUpTo(end, end - readOffset > MAX_PENDING);
            if (delta != null) {
                out.append(delta);
            }
        }
        return out.toString();
    }

    /**
     * Emits the text of the tokens up to {@code end} if it ends in a whole character (or {@code
     * force}) and moves the offsets; else null, and the tokens stay pending.
     */
    private String emitUpTo(int end, boolean force) {
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, end);
        boolean incomplete = !full.isEmpty() && full.charAt(full.length() - 1) == REPLACEMENT;
        if (full.length() > prefix.length() && (!incomplete || force)) {
            prefixOffset = readOffset;
            readOffset = end;
            return full.substring(prefix.length());
        }
        return null;
    }

    /**
     * Text held back waiting for more bytes, decoded as is (with U+FFFD) at the end of a stream.
     */
    public String flush() {
        if (readOffset == count) {
            // Nothing pending: keep the offsets, whose context a later append still needs (a
            // decoder that strips the first space would otherwise drop a space).
            return "";
        }
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
