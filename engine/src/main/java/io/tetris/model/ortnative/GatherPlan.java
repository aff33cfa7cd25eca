package io.tetris.model.ortnative;

import java.util.Arrays;
import java.util.List;

/**
 * The index a {@link KvGather} relayout runs on, in plain Java: row {@code i} of the new layout
 * takes {@code placements[i]}'s cached columns, packed to the left, from the source batches joined
 * one after another.
 *
 * @param index {@code [newRows * capacity]} columns, then {@code [newRows]} starts and {@code
 *     [newRows]} strides in the joined data, then the heads {@code 0 .. heads - 1}
 * @param used the sources with data, in order (the ones the gather reads)
 */
record GatherPlan(long[] index, int[] used) {

    /** Rows and width of a source batch; {@code empty} when it holds no data. */
    record Source(int rows, int width, boolean empty) {}

    static GatherPlan of(
            List<Placement> placements,
            List<Source> sources,
            int newRows,
            int capacity,
            int heads) {
        int[] slot = new int[sources.size()]; // source -> index in used, or -1
        long[] base = new long[sources.size()]; // source -> first row in the joined data
        int[] used = new int[sources.size()];
        int count = 0;
        long joinedRows = 0;
        for (int s = 0; s < sources.size(); s++) {
            slot[s] = -1;
            Source source = sources.get(s);
            if (!source.empty()) {
                slot[s] = count;
                used[count++] = s;
                base[s] = joinedRows;
                joinedRows += (long) source.rows() * heads * source.width();
            }
        }
        int cells = newRows * capacity;
        long[] index = new long[cells + 2 * newRows + heads];
        for (int nr = 0; nr < placements.size(); nr++) {
            Placement p = placements.get(nr);
            if (slot[p.source()] < 0 || p.length() == 0) {
                continue; // row 0 of the joined data: computed, so finite
            }
            int sourceWidth = sources.get(p.source()).width();
            index[cells + nr] = base[p.source()] + (long) p.row() * heads * sourceWidth;
            index[cells + newRows + nr] = sourceWidth;
            int at = nr * capacity;
            for (int i = 0; i < capacity; i++) {
                // Padding repeats a computed column, so every hole stays finite.
                index[at + i] = p.columns()[Math.min(i, p.length() - 1)];
            }
        }
        for (int h = 0; h < heads; h++) {
            index[cells + 2 * newRows + h] = h;
        }
        return new GatherPlan(index, Arrays.copyOf(used, count));
    }

    /**
     * The mask of a freshly packed batch, {@code [newRows][width]}: row {@code i} has its
     * placement's length of leading ones.
     */
    static long[] packedMask(List<Placement> placements, int newRows, int width) {
        long[] packed = new long[newRows * width];
        for (int nr = 0; nr < placements.size(); nr++) {
            Arrays.fill(packed, nr * width, nr * width + placements.get(nr).length(), 1L);
        }
        return packed;
    }
}
