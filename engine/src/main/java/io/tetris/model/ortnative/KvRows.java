package io.tetris.model.ortnative;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which sequence owns which row of a resident batch, and which columns of that row hold its cached
 * tokens, in order; every other column is a hole the attention mask hides. Plain Java: the caches
 * themselves live in ONNX Runtime ({@link ResidentKvBatch}), this says where in them to look.
 *
 * <p>Holes appear where a rollback drops tokens ({@link #truncate} only shortens the list), where a
 * row has fewer new tokens than the longest in a pass, and in rows whose sequence is not in a pass.
 * The columns dropped since the last pass are kept ({@link #holes}) so that the pass clears them
 * from the mask.
 */
final class KvRows {

    /** Wider than this factor of the longest sequence (plus {@link #SLACK}) triggers compaction. */
    private static final double MAX_WIDTH_FACTOR = 1.2;

    private static final int SLACK = 8;

    private String[] ids = new String[0]; // [rows], null for a free row
    private int[] lengths = new int[0]; // [rows] cached tokens
    private int[][] columns = new int[0][]; // [rows][>= length] column of each cached token
    private final Map<String, Integer> rowOf = new HashMap<>();
    private LongList holes = new LongList(); // flat [rows * capacity] mask indices now holes
    private int rows;
    private int width; // columns in use (holes included); new tokens go after them
    private int capacity; // columns allocated; == width unless passes write in place

    int rows() {
        return rows;
    }

    int width() {
        return width;
    }

    int capacity() {
        return capacity;
    }

    void capacity(int columns) {
        capacity = columns;
    }

    /** Sequences holding a row. */
    int sequences() {
        return rowOf.size();
    }

    boolean holds(String id) {
        return rowOf.containsKey(id);
    }

    int row(String id) {
        return rowOf.get(id);
    }

    /** Tokens cached in {@code row}. */
    int length(int row) {
        return lengths[row];
    }

    int freeRows() {
        return rows - rowOf.size();
    }

    /** Tokens cached for {@code id}; 0 when unknown. */
    int cachedLength(String id) {
        Integer r = rowOf.get(id);
        return r == null ? 0 : lengths[r];
    }

    /** Keeps the first {@code length} cached tokens; the rest become holes. */
    void truncate(String id, int length) {
        Integer r = rowOf.get(id);
        int cached = r == null ? 0 : lengths[r];
        if (length < 0 || length > cached) {
            throw new IllegalArgumentException(
                    "cannot truncate a cache of " + cached + " tokens to " + length);
        }
        if (r != null) {
            for (int i = length; i < lengths[r]; i++) {
                holes.add((long) r * capacity + columns[r][i]);
            }
            lengths[r] = length;
        }
    }

    /** Frees the sequence's row for the next new sequence; unknown ids are ignored. */
    void release(String id) {
        Integer r = rowOf.remove(id);
        if (r != null) {
            for (int i = 0; i < lengths[r]; i++) {
                holes.add((long) r * capacity + columns[r][i]);
            }
            ids[r] = null;
            lengths[r] = 0;
        }
    }

    int longestLive() {
        int longest = 0;
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                longest = Math.max(longest, lengths[r]);
            }
        }
        return longest;
    }

    /**
     * Whether a pass of {@code newTokens} with {@code fresh} new sequences should first relayout
     * the batch: too few free rows or too many, or holes that make it much wider than its longest
     * sequence.
     */
    boolean crowded(int fresh, int newTokens) {
        int needed = rowOf.size() + fresh;
        boolean grow = needed > rows;
        boolean shrink = rows - needed > Math.max(1, needed / 4);
        boolean wide = width + newTokens > MAX_WIDTH_FACTOR * (longestLive() + newTokens) + SLACK;
        return grow || shrink || wide;
    }

    /** The live rows, in order, as placements from source 0 (this batch). */
    List<Placement> placements() {
        List<Placement> placements = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                placements.add(new Placement(ids[r], 0, r, columns[r], lengths[r]));
            }
        }
        return placements;
    }

    /** Gives {@code id} the first free row, with nothing cached yet. */
    int admit(String id) {
        int r = 0;
        while (ids[r] != null) {
            r++;
        }
        ids[r] = id;
        lengths[r] = 0;
        rowOf.put(id, r);
        return r;
    }

    /** The first {@code count} free rows. */
    int[] freeRows(int count) {
        int[] free = new int[count];
        for (int m = 0, r = 0; m < count; m++, r++) {
            while (ids[r] != null) {
                r++;
            }
            free[m] = r;
        }
        return free;
    }

    /**
     * After a pass of {@code newTokens} columns: row {@code rowOf[m]} cached {@code counts[m]} new
     * tokens, left-padded to the pass's width, and the holes were cleared.
     */
    void appended(int[] rowOfMember, int[] counts, int newTokens) {
        holes = new LongList();
        for (int m = 0; m < rowOfMember.length; m++) {
            int r = rowOfMember[m];
            int t = counts[m];
            ensureColumns(r, lengths[r] + t);
            for (int j = 0; j < t; j++) {
                columns[r][lengths[r] + j] = width + newTokens - t + j;
            }
            lengths[r] += t;
        }
        width += newTokens;
    }

    /** The holes to clear in the next pass, as flat mask indices {@code row * capacity + col}. */
    long[] holes() {
        return holes.toArray();
    }

    /** {@link #holes} as {@code [holes][2]} (row, column) pairs. */
    long[] holePairs() {
        long[] flat = holes.toArray();
        long[] pairs = new long[2 * flat.length];
        for (int i = 0; i < flat.length; i++) {
            pairs[2 * i] = flat[i] / capacity;
            pairs[2 * i + 1] = flat[i] % capacity;
        }
        return pairs;
    }

    /**
     * After a relayout: row {@code i} holds {@code placements[i]}'s tokens packed to the left, the
     * rows after the placements are free, and no hole is pending.
     */
    void relaidOut(List<Placement> placements, int newRows, int newWidth, int newCapacity) {
        String[] newIds = new String[newRows];
        int[] newLengths = new int[newRows];
        int[][] newColumns = new int[newRows][];
        rowOf.clear();
        for (int nr = 0; nr < newRows; nr++) {
            newColumns[nr] = new int[0];
            if (nr < placements.size()) {
                Placement p = placements.get(nr);
                newIds[nr] = p.id();
                newLengths[nr] = p.length();
                int[] packedColumns = new int[Math.max(16, 2 * p.length())];
                for (int i = 0; i < p.length(); i++) {
                    packedColumns[i] = i;
                }
                newColumns[nr] = packedColumns;
                rowOf.put(p.id(), nr);
            }
        }
        ids = newIds;
        lengths = newLengths;
        columns = newColumns;
        rows = newRows;
        width = newWidth;
        capacity = newCapacity;
        holes = new LongList();
    }

    /**
     * After prefilled sequences were written into free rows {@code target}, their prompts in
     * columns {@code [0, length)} and the mask of columns {@code [0, newTokens)} set.
     */
    void joined(int[] target, String[] joinedIds, int[] length, int newTokens) {
        // The mask of those columns is set now: holes still pending there would clear it.
        Set<Integer> joinedRows = new HashSet<>();
        for (int r : target) {
            joinedRows.add(r);
        }
        LongList pending = new LongList();
        for (long hole : holes.toArray()) {
            boolean rewritten =
                    joinedRows.contains((int) (hole / capacity)) && hole % capacity < newTokens;
            if (!rewritten) {
                pending.add(hole);
            }
        }
        holes = pending;
        for (int m = 0; m < target.length; m++) {
            int r = target[m];
            ids[r] = joinedIds[m];
            rowOf.put(ids[r], r);
            lengths[r] = length[m];
            ensureColumns(r, length[m]);
            for (int j = 0; j < length[m]; j++) {
                columns[r][j] = j;
            }
        }
        // The next pass writes after every column just written.
        width = Math.max(width, newTokens);
    }

    /** Forgets the pending holes (the mask they were in is gone). */
    void clearHoles() {
        holes = new LongList();
    }

    private void ensureColumns(int r, int needed) {
        if (columns[r].length < needed) {
            columns[r] = Arrays.copyOf(columns[r], Math.max(16, 2 * needed));
        }
    }

    /** A growable list of longs (hole indices arrive one by one). */
    private static final class LongList {
        private long[] values = new long[16];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, 2 * size);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
