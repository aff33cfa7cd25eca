package io.tetris.engine;

import io.tetris.model.LanguageModel;
import io.tetris.model.LanguageModel.Extension;
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
 */
public final class CachedModel implements AutoCloseable {

    private final LanguageModel model;
    private final Map<String, int[]> cached = new HashMap<>();

    public CachedModel(LanguageModel model) {
        this.model = model;
    }

    /** Loads an ONNX model file with the given runtime options. */
    public static CachedModel load(String onnxFile, io.tetris.model.OnnxModelOptions options) {
        return new CachedModel(
                io.tetris.model.OnnxLanguageModel.load(java.nio.file.Paths.get(onnxFile), options));
    }

    public LanguageModel model() {
        return model;
    }

    /**
     * Brings each sequence's cache up to {@code sequences[i]} and returns the log-probabilities
     * after its last {@code tail[i]} tokens.
     *
     * @param ids {@code [batch]} sequence ids
     * @param sequences {@code [batch][length_i]} the full token sequences
     * @param tail {@code [batch]} how many trailing positions the caller needs, at least 1 and at
     *     most the sequence length (0 skips the sequence)
     * @return {@code [batch][tail_i][vocab]} natural-log probabilities of the next token
     */
    public float[][][] forward(List<String> ids, List<int[]> sequences, int[] tail) {
        int n = ids.size();
        List<Extension> batch = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String id = ids.get(i);
            int[] sequence = sequences.get(i);
            if (tail[i] == 0) {
                batch.add(new Extension(id, new int[0]));
                continue;
            }
            if (tail[i] < 0 || tail[i] > sequence.length) {
                throw new IllegalArgumentException(
                        "tail " + tail[i] + " outside [0, " + sequence.length + "] for " + id);
            }
            int keep = commonPrefix(cached.get(id), sequence);
            // Positions we need must be recomputed: keep only what precedes the needed tail.
            keep = Math.min(keep, sequence.length - tail[i]);
            if (keep < model.cachedLength(id)) {
                model.truncate(id, keep);
            }
            batch.add(
                    new Extension(
                            id, Arrays.copyOfRange(sequence, keep, sequence.length), tail[i]));
            cached.put(id, sequence.clone());
        }
        return model.extend(batch);
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

    private static int commonPrefix(int[] a, int[] b) {
        if (a == null) {
            return 0;
        }
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }
}
