package io.tetris.model;

/** Text to token ids and back, shared by the draft and the target model. */
public interface TextTokenizer extends AutoCloseable {

    /** Token ids of {@code text}, without special tokens added. */
    int[] encode(String text);

    /**
     * Text of {@code tokens}; byte sequences that are not (yet) valid UTF-8 decode to U+FFFD, which
     * {@link IncrementalDetokenizer} relies on.
     */
    String decode(int[] tokens);

    /** Number of token ids, special tokens included. */
    int vocabSize();

    /** The id that ends a document, or -1 if the vocabulary has none. */
    int endOfTextId();

    @Override
    void close();
}
