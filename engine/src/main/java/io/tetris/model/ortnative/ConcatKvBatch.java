package io.tetris.model.ortnative;

import com.sun.jna.Pointer;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.NextTokens;
import java.util.List;

/**
 * A {@link ResidentKvBatch} on the general path any Optimum-style export takes: each pass
 * concatenates its new keys and values onto a copy of the cached ones inside the model, and its
 * {@code present.*} outputs (and the mask {@link ResidentMask} made resident) become the next
 * batch. The caches are exactly as wide as the columns in use.
 */
final class ConcatKvBatch extends ResidentKvBatch {

    ConcatKvBatch(ResidentSession session) {
        super(session);
    }

    @Override
    public boolean inPlace() {
        return false;
    }

    @Override
    int capacityFor(int width, int reserve) {
        return width;
    }

    @Override
    boolean full(int newTokens) {
        return false;
    }

    @Override
    void pass(PassInputs pass, List<Extension> batch, NextTokens[] out) {
        int width = layout.width();
        adoptPresents(
                forward(pass, holeIndex(), width, kv, mask, false, false, batch, out),
                width + pass.newTokens());
    }

    @Override
    long[] holeIndex() {
        return layout.holes();
    }

    @Override
    long[] holeShape(long[] holeIndex) {
        return new long[] {holeIndex.length};
    }

    @Override
    void bindLayoutInputs(int writeAt, List<Pointer> inputs) {}

    @Override
    int firstPassColumns(int newTokens) {
        return 0;
    }

    @Override
    void merge(
            List<Extension> batch,
            List<Integer> fresh,
            int newTokens,
            Pointer[] prefilled,
            List<Placement> placements,
            int longest) {
        relayout(
                placements,
                placements.size(),
                longest,
                0,
                resident(),
                new Caches(prefilled, fresh.size(), newTokens));
    }
}
