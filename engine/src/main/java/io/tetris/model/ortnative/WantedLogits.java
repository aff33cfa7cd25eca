package io.tetris.model.ortnative;

import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.NextTokens;
import java.util.List;

/**
 * Which rows of a pass's logits {@code [rows * newTokens][vocab]} the members want, in plain Java:
 * each member's last {@link Extension#returned} positions, and of those the rows a sampled member
 * needs in full.
 *
 * @param rows {@code [wanted]} logits rows, member after member
 * @param fullRows {@code [full]} indices into {@code rows} of the rows wanted in full
 */
record WantedLogits(long[] rows, int[] fullRows) {

    static WantedLogits of(List<Extension> batch, PassInputs pass) {
        int wanted = 0;
        int full = 0;
        for (int b : pass.members()) {
            Extension e = batch.get(b);
            wanted += e.returned();
            full += e.greedy() ? 0 : e.returned();
        }
        long[] rows = new long[wanted];
        int[] fullRows = new int[full];
        int w = 0;
        int f = 0;
        for (int m = 0; m < pass.members().size(); m++) {
            Extension e = batch.get(pass.members().get(m));
            int first = pass.rowOfMember()[m] * pass.newTokens() + pass.newTokens() - e.returned();
            for (int j = 0; j < e.returned(); j++) {
                if (!e.greedy()) {
                    fullRows[f++] = w;
                }
                rows[w++] = first + j;
            }
        }
        return new WantedLogits(rows, fullRows);
    }

    boolean none() {
        return rows.length == 0;
    }

    /** Hands each member its part of what the reduction returned, in {@code rows}' order. */
    void deliver(
            List<Extension> batch,
            List<Integer> members,
            LogitsReducer.Reduced reduced,
            NextTokens[] out) {
        int w = 0;
        int f = 0;
        for (int b : members) {
            Extension e = batch.get(b);
            int n = e.returned();
            int[] argmax = new int[n];
            float[] best = new float[n];
            float[] second = new float[n];
            float[][] logProbs = e.greedy() ? null : new float[n][];
            for (int j = 0; j < n; j++, w++) {
                argmax[j] = (int) reduced.argmax()[w];
                best[j] = reduced.best()[w];
                second[j] = reduced.second()[w];
                if (logProbs != null) {
                    logProbs[j] = reduced.logProbs()[f++];
                }
            }
            out[b] = new NextTokens(logProbs, argmax, best, second);
        }
    }
}
