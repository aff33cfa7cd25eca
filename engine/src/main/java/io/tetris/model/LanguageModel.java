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
     * @return {@code [batch][returned_i][vocab]} natural-log probabilities of the next token after
     *     each of the last {@link Extension#returned} new tokens (all of them unless the extension
     *     says fewer), in the order of {@code batch}
     */
    float[][][] extend(List<Extension> batch);

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
     */
    record Extension(String sequenceId, int[] tokens, int returned) {

        public Extension {
            if (returned < 0 || returned > tokens.length) {
                throw new IllegalArgumentException(
                        "cannot return " + returned + " of " + tokens.length + " new positions");
            }
        }

        /** Returns every new position. */
        public Extension(String sequenceId, int[] tokens) {
            this(sequenceId, tokens, tokens.length);
        }
    }
}
