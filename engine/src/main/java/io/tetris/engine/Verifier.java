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
 * Verifies a round's selected draft tokens with the target model in one batched forward pass and
 * applies lossless speculative sampling (or greedy matching) per sequence. Verification draw {@code
 * d} of a sequence with {@code n} committed tokens is {@code CounterRng.uniform(seed, n + d,
 * VERIFY)}.
 */
public final class Verifier implements VerifyStep {

    private final CachedModel target;
    private final VerificationMode mode;

    public Verifier(CachedModel target) {
        this(target, VerificationMode.COUPLED);
    }

    public Verifier(CachedModel target, VerificationMode mode) {
        this.target = target;
        this.mode = mode;
    }

    /**
     * @param verify {@code [batch]} leading draft tokens to verify per sequence (the allocation)
     */
    @Override
    public void prefill(List<SequenceView> batch) {
        target.prefill(batch);
    }

    @Override
    public Verified verify(List<SequenceView> batch, Drafts drafts, int[] verify) {
        int n = batch.size();
        List<CachedModel.Request> requests = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            SequenceView s = batch.get(i);
            int count = verify[i];
            if (count < 0 || count > drafts.tokens()[i].length) {
                throw new IllegalArgumentException(
                        "cannot verify " + count + " of " + drafts.tokens()[i].length + " drafts");
            }
            requests.add(
                    new CachedModel.Request(
                            s.id(),
                            s.tokens(),
                            drafts.tokens()[i],
                            count,
                            count + 1,
                            s.params().greedy()));
        }
        NextTokens[] next = target.forward(requests); // [batch] count + 1 positions each
        int[][] emitted = new int[n][];
        int[] accepted = new int[n];
        float[][] logProbs = new float[n][]; // [batch][emitted_i]
        double[] margins = new double[n];
        for (int i = 0; i < n; i++) {
            SequenceView s = batch.get(i);
            int[] proposed = Arrays.copyOf(drafts.tokens()[i], verify[i]);
            if (s.params().greedy()) {
                emitted[i] = SpeculativeSampling.verifyGreedy(next[i].argmax(), proposed);
                // Every emitted token is the target's argmax at its position.
                logProbs[i] = Arrays.copyOf(next[i].argmaxLogProb(), emitted[i].length);
                accepted[i] = emitted[i].length - 1;
                margins[i] = margin(next[i], emitted[i].length - 1);
                continue;
            }
            float[][] rows = next[i].logProbs(); // [count + 1][vocab]
            float[][] p = new float[rows.length][];
            for (int j = 0; j < p.length; j++) {
                p[j] = LogitsTransform.probabilities(rows[j], s.params());
            }
            if (mode == VerificationMode.COUPLED) {
                emitted[i] = CoupledSampling.verify(p, proposed, s.seed(), s.tokens().length);
            } else {
                float[][] q = Arrays.copyOf(drafts.probs()[i], verify[i]);
                emitted[i] =
                        SpeculativeSampling.verify(
                                p,
                                q,
                                proposed,
                                CounterRng.stream(
                                        s.seed(), s.tokens().length, CounterRng.Purpose.VERIFY));
            }
            accepted[i] = emitted[i].length - 1;
            margins[i] = margin(next[i], emitted[i].length - 1);
            logProbs[i] = new float[emitted[i].length];
            for (int j = 0; j < emitted[i].length; j++) {
                logProbs[i][j] = rows[j][emitted[i][j]];
            }
        }
        return new Verified(emitted, verify.clone(), accepted, logProbs, margins);
    }

    /** The target's lead of its top token over the runner-up at position {@code at}. */
    private static double margin(NextTokens next, int at) {
        return next.argmaxLogProb()[at] - next.runnerUpLogProb()[at];
    }
}
