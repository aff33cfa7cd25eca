package io.tetris.model;

import java.util.List;

/**
 * A causal language model with one KV cache per sequence, as the draft and verify operators need
 * it: extend many sequences by ragged token lists in one forward pass, read log-probabilities at
 * every new position, roll a cache back after a rejection, and free it.
 *
 * <p>Not thread-safe: each operator subtask owns its instance.
 */
public interface LanguageModel extends AutoCloseable {

    /** Size of the output distribution. */
    int vocabSize();

    /** Longest sequence (cached plus new tokens) the model accepts. */
    int maxContext();

    /**
     * Appends each extension's tokens to its sequence (creating the sequence on first sight) and
     * runs them through the model in one batch.
     *
     * @return {@code [batch]} in the order of {@code batch}: the next-token distribution after each
     *     of the last {@link Extension#returned} new tokens, reduced to the argmax and its
     *     log-probability for a {@link Extension#greedy} extension
     */
    NextTokens[] next(List<Extension> batch);

    /**
     * {@link #next} for extensions that all want full rows.
     *
     * @return {@code [batch][returned_i][vocab]} natural-log probabilities of the next token
     */
    default float[][][] extend(List<Extension> batch) {
        NextTokens[] next = next(batch);
        float[][][] out = new float[next.length][][];
        for (int b = 0; b < next.length; b++) {
            if (next[b].reduced()) {
                throw new IllegalArgumentException(
                        "extend returns full rows; use next() for greedy extensions");
            }
            out[b] = next[b].logProbs();
        }
        return out;
    }

    /** Tokens currently cached for {@code sequenceId}; 0 when unknown. */
    int cachedLength(String sequenceId);

    /** Keeps only the first {@code length} cached tokens (rollback after a rejection). */
    void truncate(String sequenceId, int length);

    /** Frees the sequence's cache; unknown ids are ignored. */
    void release(String sequenceId);

    /** Number of sequences holding a cache. */
    int sequences();

    /**
     * What the model's passes moved between the host and the model's memory, and the time spent
     * inside them; all zero for a model that does not count.
     */
    default ModelTraffic traffic() {
        return new ModelTraffic();
    }

    @Override
    void close();

    /**
     * New tokens for one sequence.
     *
     * @param sequenceId the sequence's cache key
     * @param tokens {@code [new tokens]}
     * @param returned how many of the last new positions to return log-probabilities for: a
     *     prompt's prefill needs one, not one per prompt token
     * @param greedy whether the argmax and its log-probability are all the caller needs at those
     *     positions (the rows then stay in the model's memory)
     */
    record Extension(String sequenceId, int[] tokens, int returned, boolean greedy) {

        public Extension {
            if (returned < 0 || returned > tokens.length) {
                throw new IllegalArgumentException(
                        "cannot return " + returned + " of " + tokens.length + " new positions");
            }
        }

        /** Returns full rows for the last {@code returned} new positions. */
        public Extension(String sequenceId, int[] tokens, int returned) {
            this(sequenceId, tokens, returned, false);
        }

        /** Returns full rows for every new position. */
        public Extension(String sequenceId, int[] tokens) {
            this(sequenceId, tokens, tokens.length);
        }
    }
}
