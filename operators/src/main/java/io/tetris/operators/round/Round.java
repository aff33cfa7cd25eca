package io.tetris.operators.round;

import io.tetris.core.SamplingParams;
import io.tetris.engine.Drafts;
import io.tetris.engine.SequenceView;
import io.tetris.engine.Verified;
import java.util.ArrayList;
import java.util.List;

/**
 * One decode round of one verifier replica as it travels the chained loop: the micro-batcher fills
 * the sequence columns, the draft operator the draft columns, the window operator the allocation,
 * the verify operator the outcome. Columns are {@code [batch]}-indexed arrays.
 *
 * <p>A Flink POJO so it needs no Kryo; inside the chain it is handed on by reference.
 */
public final class Round {

    // ----- micro-batcher -----
    public int replica;
    public long number;
    public String[] ids = new String[0]; // [batch]
    public int[][] tokens = new int[0][]; // [batch][committed]
    public float[] temperature = new float[0]; // [batch]
    public float[] topP = new float[0]; // [batch]
    public int[] topK = new int[0]; // [batch]
    public long[] seed = new long[0]; // [batch]
    public double[] priority = new double[0]; // [batch]
    public int[] maxDraft = new int[0]; // [batch]
    public int draftLength;

    /** Sequences that finished since the previous round: the models free their caches. */
    public String[] released = new String[0];

    public long startedNanos;

    // ----- draft -----
    public int[][] draftTokens; // [batch][drafted]
    public float[][][] draftProbs; // [batch][drafted][vocab], null rows for greedy sequences
    public double[][] draftLogProbs; // [batch][drafted]
    public long draftNanos;

    // ----- window -----
    public int[] verify; // [batch]
    public int budget;

    // ----- verify -----
    public int[][] emitted; // [batch][accepted + 1]
    public int[] verified; // [batch]
    public int[] accepted; // [batch]
    public long verifyNanos;

    public Round() {}

    /** A round with its sequence columns allocated for {@code n} sequences. */
    public static Round ofSize(int n) {
        Round round = new Round();
        round.ids = new String[n];
        round.tokens = new int[n][];
        round.temperature = new float[n];
        round.topP = new float[n];
        round.topK = new int[n];
        round.seed = new long[n];
        round.priority = new double[n];
        round.maxDraft = new int[n];
        return round;
    }

    /** Sequences in the round. */
    public int size() {
        return ids.length;
    }

    /** Built once per round: the batcher, draft, window and verify operators all need it. */
    private transient List<SequenceView> views;

    /**
     * The engine's view of the round's sequences. The sequence columns are fixed once the batcher
     * emits the round, so the view is built on first use and shared by the operators after it.
     */
    public List<SequenceView> views() {
        if (views != null && views.size() == ids.length) {
            return views;
        }
        List<SequenceView> views = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            views.add(
                    new SequenceView(
                            ids[i],
                            tokens[i],
                            new SamplingParams(temperature[i], topK[i], topP[i]),
                            seed[i],
                            priority[i],
                            maxDraft[i]));
        }
        this.views = views;
        return views;
    }

    public Drafts drafts() {
        return new Drafts(draftTokens, draftProbs, draftLogProbs);
    }

    public void applyDrafts(Drafts drafts) {
        draftTokens = drafts.tokens();
        draftProbs = drafts.probs();
        draftLogProbs = drafts.logProbs();
    }

    public Verified outcome() {
        return new Verified(emitted, verified, accepted);
    }

    public void applyOutcome(Verified outcome) {
        emitted = outcome.emitted();
        verified = outcome.verified();
        accepted = outcome.accepted();
    }
}
