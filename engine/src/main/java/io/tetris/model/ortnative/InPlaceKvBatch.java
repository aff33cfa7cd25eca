package io.tetris.model.ortnative;

import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.NextTokens;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link ResidentKvBatch} over a graph {@link SharedKvRewrite} rewrote: each pass writes its new
 * keys, values and mask columns into the resident caches at a given column, so a pass copies
 * nothing of what is cached. The caches keep room to write into; a relayout leaves a quarter of the
 * longest sequence (at least {@link #MIN_HEADROOM} columns), and prefilled sequences are scattered
 * into free rows ({@link JoinPlan}) rather than gathered with every other row.
 */
final class InPlaceKvBatch extends ResidentKvBatch {

    /** A relayout leaves room for this fraction of the longest sequence (at least 16). */
    private static final double HEADROOM_FACTOR = 0.25;

    private static final int MIN_HEADROOM = 16;

    private boolean maskResident; // the mask lies where the caches live
    private boolean cachesBound; // the binding holds kv and mask, in and out

    InPlaceKvBatch(ResidentSession session) {
        super(session);
    }

    @Override
    public boolean inPlace() {
        return true;
    }

    @Override
    int capacityFor(int width, int reserve) {
        int headroom = Math.max(MIN_HEADROOM, (int) (HEADROOM_FACTOR * width));
        return width + Math.max(reserve, headroom);
    }

    @Override
    boolean full(int newTokens) {
        return kv != null && layout.width() + newTokens > layout.capacity();
    }

    @Override
    void pass(PassInputs pass, List<Extension> batch, NextTokens[] out) {
        boolean written = kv != null;
        long[] holes = holeIndex();
        if (written && maskResident && signature.vocab() > 0) {
            passBound(pass, holes, batch, out);
            return;
        }
        int width = layout.width();
        Pointer[] presents =
                forward(pass, holes, width, kv, mask, written, written && maskResident, batch, out);
        if (!written) {
            adoptPresents(presents, width + pass.newTokens());
            maskResident = true;
            return;
        }
        // The caches were written in place: the outputs are handles onto them.
        session.release(Arrays.copyOf(presents, session.pastNames.length));
        Pointer maskOut = presents[session.pastNames.length];
        if (maskResident) {
            session.ort.releaseValue(maskOut);
        } else {
            session.ort.releaseValue(mask);
            mask = maskOut;
            maskResident = true;
            cachesBound = false;
        }
    }

    /**
     * A pass with the caches and the mask where they live: they stay bound from pass to pass (as
     * input and output at once), the logits go to a buffer of the session's, and only the pass's
     * own inputs are bound anew, so a pass makes a fixed, small number of native calls.
     */
    private void passBound(PassInputs pass, long[] holes, List<Extension> batch, NextTokens[] out) {
        OrtApiShim ort = session.ort;
        Pointer binding = session.binding;
        List<Pointer> inputs = new ArrayList<>();
        try {
            if (!cachesBound) {
                ort.clearBoundInputs(binding);
                ort.clearBoundOutputs(binding);
                for (int i = 0; i < session.pastNames.length; i++) {
                    ort.bindInput(binding, session.pastNames[i], kv[i]);
                    ort.bindOutput(binding, session.presentNames[i], kv[i]);
                }
                ort.bindInput(binding, ResidentMask.PAST, mask);
                ort.bindOutput(binding, ResidentMask.PRESENT, mask);
                cachesBound = true;
            }
            // Binding a name again replaces what was bound to it.
            session.bindPassInputs(pass, holes, holeShape(holes), inputs);
            bindLayoutInputs(layout.width(), inputs);
            int vocab = signature.vocab();
            inputs.add(session.logitsBuffer(pass.rows(), pass.newTokens(), vocab));
            Pointer logits = ResidentSession.last(inputs);
            ort.bindOutput(binding, DecoderSignature.LOGITS, logits);
            session.run(pass, holes);
            session.reduce(logits, vocab, pass, batch, out);
        } finally {
            // The binding keeps its own references until the next pass replaces them.
            for (Pointer p : inputs) {
                ort.releaseValue(p);
            }
        }
    }

    @Override
    long[] holeIndex() {
        return layout.holePairs();
    }

    @Override
    long[] holeShape(long[] holeIndex) {
        return new long[] {holeIndex.length / 2, 2};
    }

    @Override
    void bindLayoutInputs(int writeAt, List<Pointer> inputs) {
        session.bindWriteAt(writeAt, inputs);
    }

    @Override
    int firstPassColumns(int newTokens) {
        // A first pass writes every column of a buffer just wide enough.
        return newTokens;
    }

    @Override
    void merge(
            List<Extension> batch,
            List<Integer> fresh,
            int newTokens,
            Pointer[] prefilled,
            List<Placement> placements,
            int longest) {
        int f = fresh.size();
        if (kv == null || layout.freeRows() < f || newTokens > layout.capacity()) {
            relayout(
                    placements,
                    placements.size(),
                    longest,
                    0,
                    resident(),
                    new Caches(prefilled, f, newTokens));
            return;
        }
        // Free rows take the prompts: the work is their size, the other rows are not touched.
        int[] length = new int[f];
        String[] ids = new String[f];
        for (int m = 0; m < f; m++) {
            Extension e = batch.get(fresh.get(m));
            length[m] = e.tokens().length;
            ids[m] = e.sequenceId();
        }
        int[] target = layout.freeRows(f);
        session.scatter(
                JoinPlan.of(target, length, newTokens, signature.kvHeads()), kv, mask, prefilled);
        layout.joined(target, ids, length, newTokens);
    }

    @Override
    void bindingCleared() {
        cachesBound = false;
    }

    @Override
    void maskReplaced() {
        maskResident = !session.onDevice();
    }
}
