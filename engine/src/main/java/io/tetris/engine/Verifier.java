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
    public Verified verify(List<SequenceView> batch, Drafts drafts, int[] verify) {
        int n = batch.size();
        List<String> ids = new ArrayList<>(n);
        List<int[]> sequences = new ArrayList<>(n);
        int[] tail = new int[n];
        for (int i = 0; i < n; i++) {
            SequenceView s = batch.get(i);
            int count = verify[i];
            if (count < 0 || count > drafts.tokens()[i].length) {
                throw new IllegalArgumentException(
                        "cannot verify " + count + " of " + drafts.tokens()[i].length + " drafts");
            }
            ids.add(s.id());
            sequences.add(Drafter.concat(s.tokens(), drafts.tokens()[i], count));
            tail[i] = count + 1;
        }
        float[][][] rows = target.forward(ids, sequences, tail); // [batch][count + 1][vocab]
        int[][] emitted = new int[n][];
        int[] accepted = new int[n];
        for (int i = 0; i < n; i++) {
            SequenceView s = batch.get(i);
            int[] proposed = Arrays.copyOf(drafts.tokens()[i], verify[i]);
            if (s.params().greedy()) {
                int[] argmax = new int[rows[i].length];
                for (int j = 0; j < argmax.length; j++) {
                    argmax[j] = LogitsTransform.argmax(rows[i][j]);
                }
                emitted[i] = SpeculativeSampling.verifyGreedy(argmax, proposed);
            } else {
                float[][] p = new float[rows[i].length][];
                for (int j = 0; j < p.length; j++) {
                    p[j] = LogitsTransform.probabilities(rows[i][j], s.params());
                }
                if (mode == VerificationMode.COUPLED) {
                    emitted[i] = CoupledSampling.verify(p, proposed, s.seed(), s.tokens().length);
                    accepted[i] = emitted[i].length - 1;
                    continue;
                }
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
        }
        float[][] logProbs = new float[n][]; // [batch][emitted_i]
        for (int i = 0; i < n; i++) {
            logProbs[i] = new float[emitted[i].length];
            for (int j = 0; j < emitted[i].length; j++) {
                logProbs[i][j] = rows[i][j][emitted[i][j]];
            }
        }
        return new Verified(emitted, verify.clone(), accepted, logProbs);
    }
}
