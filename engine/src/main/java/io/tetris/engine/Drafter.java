package io.tetris.engine;

import io.tetris.core.CounterRng;
import io.tetris.core.CoupledSampling;
import io.tetris.core.LogitsTransform;
import io.tetris.core.SpeculativeSampling;
import io.tetris.core.VerificationMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Proposes draft tokens for a batch: one batched draft-model step per draft position. Draft token
 * {@code j} of a sequence with {@code n} committed tokens is sampled with the uniform {@code
 * CounterRng.uniform(seed, n + j, DRAFT)}, so a replayed round proposes the same tokens.
 */
public final class Drafter implements DraftStep {

    private final CachedModel draft;
    private final int endOfText;
    private final VerificationMode mode;

    public Drafter(CachedModel draft, int endOfText) {
        this(draft, endOfText, VerificationMode.COUPLED);
    }

    public Drafter(CachedModel draft, int endOfText, VerificationMode mode) {
        this.draft = draft;
        this.endOfText = endOfText;
        this.mode = mode;
    }

    /**
     * Drafts up to {@code draftLength} tokens per sequence (fewer where its {@code maxDraft} is
     * lower, and none after a drafted end-of-text).
     */
    @Override
    public Drafts draft(List<SequenceView> batch, int draftLength) {
        int n = batch.size();
        int[][] tokens = new int[n][]; // [batch][drafted_i]
        float[][][] probs = new float[n][][]; // [batch][drafted_i][vocab]
        double[][] logProbs = new double[n][]; // [batch][drafted_i]
        int[] target = new int[n];
        for (int i = 0; i < n; i++) {
            target[i] = Math.max(0, Math.min(draftLength, batch.get(i).maxDraft()));
            tokens[i] = new int[target[i]];
            probs[i] = new float[target[i]][];
            logProbs[i] = new double[target[i]];
        }
        int[] length = new int[n];
        boolean[] stopped = new boolean[n];
        int longest = Arrays.stream(target).max().orElse(0);
        List<String> ids = new ArrayList<>(n);
        batch.forEach(s -> ids.add(s.id()));
        for (int step = 0; step < longest; step++) {
            List<int[]> sequences = new ArrayList<>(n);
            int[] tail = new int[n];
            for (int i = 0; i < n; i++) {
                SequenceView s = batch.get(i);
                boolean active = !stopped[i] && step < target[i];
                sequences.add(active ? concat(s.tokens(), tokens[i], step) : s.tokens());
                tail[i] = active ? 1 : 0;
            }
            float[][][] rows = draft.forward(ids, sequences, tail);
            for (int i = 0; i < n; i++) {
                if (tail[i] == 0) {
                    continue;
                }
                SequenceView s = batch.get(i);
                float[] logits = rows[i][0];
                int token;
                if (s.params().greedy()) {
                    token = LogitsTransform.argmax(logits);
                    logProbs[i][step] = logits[token];
                } else {
                    float[] q = LogitsTransform.probabilities(logits, s.params());
                    long position = s.tokens().length + step;
                    token =
                            mode == VerificationMode.COUPLED
                                    ? CoupledSampling.sample(q, s.seed(), position)
                                    : SpeculativeSampling.sample(
                                            q,
                                            CounterRng.uniform(
                                                    s.seed(), position, CounterRng.Purpose.DRAFT));
                    probs[i][step] = q;
                    logProbs[i][step] = Math.log(q[token]);
                }
                tokens[i][step] = token;
                length[i] = step + 1;
                if (token == endOfText) {
                    stopped[i] = true;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            if (length[i] < target[i]) {
                tokens[i] = Arrays.copyOf(tokens[i], length[i]);
                probs[i] = Arrays.copyOf(probs[i], length[i]);
                logProbs[i] = Arrays.copyOf(logProbs[i], length[i]);
            }
        }
        return new Drafts(tokens, probs, logProbs);
    }

    static int[] concat(int[] committed, int[] drafts, int draftCount) {
        int[] out = Arrays.copyOf(committed, committed.length + draftCount);
        System.arraycopy(drafts, 0, out, committed.length, draftCount);
        return out;
    }
}
