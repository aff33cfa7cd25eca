package io.tetris.engine;

import io.tetris.model.LanguageModel;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.NextTokens;
import io.tetris.model.OnnxLanguageModel;
import io.tetris.model.OnnxModelOptions;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps a {@link LanguageModel}'s KV caches in step with the sequences the caller asks about.
 *
 * <p>It remembers which tokens each cache holds; on every call it rolls a cache back to the longest
 * common prefix with the requested sequence and feeds only what is missing. Rejected draft tokens,
 * a restore from a checkpoint (empty caches, full context) and a brand-new sequence are therefore
 * all the same case, and no caller has to track cache contents.
 *
 * <p>A request names its sequence as committed tokens plus a few more (drafts), so neither side
 * copies the whole context per pass: the comparison is a vectorised mismatch, and only the tokens
 * past the common prefix are copied.
 */
public final class CachedModel implements AutoCloseable {

    /** A cache this many tokens behind its sequence (less the last) is caught up in prefill. */
    private static final int CATCH_UP = 2;

    private final LanguageModel model;
    private final Map<String, Tokens> cached = new HashMap<>();

    public CachedModel(LanguageModel model) {
        this.model = model;
    }

    /** Loads an ONNX model file with the given runtime options. */
    public static CachedModel load(String onnxFile, OnnxModelOptions options) {
        return new CachedModel(OnnxLanguageModel.load(Paths.get(onnxFile), options));
    }

    public LanguageModel model() {
        return model;
    }

    /**
     * One sequence's part of a pass: the sequence is {@code committed} followed by the first {@code
     * extraLength} tokens of {@code extra}.
     *
     * @param tail how many trailing positions the caller needs, at least 1 and at most the sequence
     *     length (0 skips the sequence)
     * @param greedy whether the argmax and its log-probability are enough at those positions
     */
    public record Request(
            String id, int[] committed, int[] extra, int extraLength, int tail, boolean greedy) {

        public Request {
            if (extraLength < 0 || extraLength > extra.length) {
                throw new IllegalArgumentException(
                        "cannot take " + extraLength + " of " + extra.length + " extra tokens");
            }
            int length = committed.length + extraLength;
            if (tail < 0 || tail > length) {
                throw new IllegalArgumentException(
                        "tail " + tail + " outside [0, " + length + "] for " + id);
            }
        }

        int length() {
            return committed.length + extraLength;
        }

        int at(int i) {
            return i < committed.length ? committed[i] : extra[i - committed.length];
        }
    }

    /**
     * Brings each sequence's cache up to its request and returns what the model says after its last
     * {@code tail} tokens ({@link NextTokens#NONE} for a tail of 0).
     */
    public NextTokens[] forward(List<Request> requests) {
        List<Extension> batch = new ArrayList<>(requests.size());
        for (Request r : requests) {
            if (r.tail() == 0) {
                batch.add(new Extension(r.id(), new int[0]));
                continue;
            }
            Tokens tokens = cached.computeIfAbsent(r.id(), id -> new Tokens());
            // Positions we need must be recomputed: keep only what precedes the needed tail.
            int keep = Math.min(tokens.commonPrefix(r), r.length() - r.tail());
            if (keep < model.cachedLength(r.id())) {
                model.truncate(r.id(), keep);
            }
            int[] fresh = new int[r.length() - keep];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = r.at(keep + i);
            }
            tokens.keep(keep);
            tokens.append(fresh);
            batch.add(new Extension(r.id(), fresh, r.tail(), r.greedy()));
        }
        return model.next(batch);
    }

    /**
     * Feeds the committed tokens of the sequences this model holds nothing for (new, or restored
     * from a checkpoint), all but the last, in one pass that returns nothing: the prompt's prefill,
     * kept out of the round's steps. The next {@link #forward} feeds the last token for its
     * log-probabilities. Sequences whose cache has fallen behind (a draft model skipped while
     * speculation was off) are caught up in the same pass, so that catching up is not counted as a
     * draft step either.
     */
    public void prefill(List<SequenceView> batch) {
        List<Extension> prompts = new ArrayList<>();
        for (SequenceView s : batch) {
            int[] committed = s.tokens();
            if (committed.length <= 1) {
                continue;
            }
            Tokens tokens = cached.get(s.id());
            if (tokens == null) {
                int[] prompt = Arrays.copyOf(committed, committed.length - 1);
                tokens = new Tokens();
                tokens.append(prompt);
                cached.put(s.id(), tokens);
                prompts.add(new Extension(s.id(), prompt, 0));
                continue;
            }
            Request whole = new Request(s.id(), committed, new int[0], 0, 0, false);
            int keep = Math.min(tokens.commonPrefix(whole), committed.length - 1);
            if (committed.length - 1 - keep < CATCH_UP) {
                continue;
            }
            if (keep < model.cachedLength(s.id())) {
                model.truncate(s.id(), keep);
            }
            int[] gap = Arrays.copyOfRange(committed, keep, committed.length - 1);
            tokens.keep(keep);
            tokens.append(gap);
            prompts.add(new Extension(s.id(), gap, 0));
        }
        if (!prompts.isEmpty()) {
            model.next(prompts);
        }
    }

    /**
     * {@link #forward(List)} for whole sequences and full rows.
     *
     * @param ids {@code [batch]} sequence ids
     * @param sequences {@code [batch][length_i]} the full token sequences
     * @param tail {@code [batch]} trailing positions needed (0 skips the sequence)
     * @return {@code [batch][tail_i][vocab]} natural-log probabilities of the next token
     */
    public float[][][] forward(List<String> ids, List<int[]> sequences, int[] tail) {
        List<Request> requests = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            requests.add(new Request(ids.get(i), sequences.get(i), new int[0], 0, tail[i], false));
        }
        NextTokens[] next = forward(requests);
        float[][][] out = new float[next.length][][];
        for (int i = 0; i < next.length; i++) {
            out[i] = next[i].logProbs();
        }
        return out;
    }

    /** Frees a finished sequence's cache. */
    public void release(String id) {
        cached.remove(id);
        model.release(id);
    }

    /** Sequences holding a cache. */
    public int sequences() {
        return cached.size();
    }

    @Override
    public void close() {
        cached.clear();
        model.close();
    }

    /** The tokens a cache holds, in a buffer that grows by doubling. */
    private static final class Tokens {
        private int[] tokens = new int[0];
        private int length;

        int commonPrefix(Request r) {
            int n = Math.min(length, r.committed().length);
            int i = Arrays.mismatch(tokens, 0, n, r.committed(), 0, n);
            if (i >= 0) {
                return i;
            }
            if (n < r.committed().length) {
                return n;
            }
            int m = Math.min(length - n, r.extraLength());
            int j = Arrays.mismatch(tokens, n, n + m, r.extra(), 0, m);
            return n + (j >= 0 ? j : m);
        }

        void keep(int n) {
            length = n;
        }

        void append(int[] more) {
            if (length + more.length > tokens.length) {
                tokens = Arrays.copyOf(tokens, Math.max(16, 2 * (length + more.length)));
            }
            System.arraycopy(more, 0, tokens, length, more.length);
            length += more.length;
        }
    }
}
