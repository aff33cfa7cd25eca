package io.tetris.engine;

import io.tetris.core.CounterRng;
import io.tetris.core.CoupledSampling;
import io.tetris.core.LogitsTransform;
import io.tetris.core.SpeculativeSampling;
import io.tetris.core.VerificationMode;
import io.tetris.model.NextTokens;
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
    public void prefill(List<SequenceView> batch) {
        // A sequence that drafts nothing (max_draft_tokens 0, or at its limit) needs no draft
        // cache.
        draft.prefill(batch.stream().filter(s -> s.maxDraft() > 0).toList());
    }

    @Override
    public Drafts draft(List<SequenceView> batch, int draftLength) {
        int n = batch.size();
        int[][] tokens = new int[n][]; // [batch][drafted_i]
        float[][][] probs = new float[n][][]; // [batch][drafted_i][vocab]
        double[][] logProbs = new double[n][]; // [batch][drafted_i]
        double[][] margins = new double[n][]; // [batch][drafted_i]
        int[] target = new int[n];
        for (int i = 0; i < n; i++) {
            target[i] = Math.max(0, Math.min(draftLength, batch.get(i).maxDraft()));
            tokens[i] = new int[target[i]];
            probs[i] = new float[target[i]][];
            logProbs[i] = new double[target[i]];
            margins[i] = new double[target[i]];
        }
        int[] length = new int[n];
        boolean[] stopped = new boolean[n];
        int longest = Arrays.stream(target).max().orElse(0);
        for (int step = 0; step < longest; step++) {
            List<CachedModel.Request> requests = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                SequenceView s = batch.get(i);
                boolean active = !stopped[i] && step < target[i];
                requests.add(
                        new CachedModel.Request(
                                s.id(),
                                s.tokens(),
                                tokens[i],
                                active ? step : 0,
                                active ? 1 : 0,
                                s.params().greedy()));
            }
            NextTokens[] next = draft.forward(requests);
            for (int i = 0; i < n; i++) {
                if (requests.get(i).tail() == 0) {
                    continue;
                }
                SequenceView s = batch.get(i);
                int token;
                margins[i][step] = next[i].argmaxLogProb()[0] - next[i].runnerUpLogProb()[0];
                if (s.params().greedy()) {
                    token = next[i].argmax()[0];
                    logProbs[i][step] = next[i].argmaxLogProb()[0];
                } else {
                    float[] q = LogitsTransform.probabilities(next[i].logProbs()[0], s.params());
                    long position = s.tokens().length + step;
                    if (mode == VerificationMode.COUPLED) {
                        // Under shared noise the target overrules a draw by how clearly it won the
                        // race, not by how clearly the draft's likeliest token led.
                        CoupledSampling.Draw draw = CoupledSampling.draw(q, s.seed(), position);
                        token = draw.token();
                        margins[i][step] = draw.margin();
                    } else {
                        token =
                                SpeculativeSampling.sample(
                                        q,
                                        CounterRng.uniform(
                                                s.seed(), position, CounterRng.Purpose.DRAFT));
                    }
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
                margins[i] = Arrays.copyOf(margins[i], length[i]);
            }
        }
        return new Drafts(tokens, probs, logProbs, margins);
    }
}
