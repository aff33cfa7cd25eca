package io.tetris.model;

/**
 * One sequence's keys and values for every layer, kept on the Java heap in the layout of one batch
 * row, {@code [heads][capacity][headDim]} per layer, with spare capacity so appending a round's
 * tokens does not copy the cache each time.
 */
final class KvCache {

    private final int layers;
    private final int heads;
    private final int headDim;
    private float[][] keys; // [layer][heads * capacity * headDim]
    private float[][] values; // [layer][heads * capacity * headDim]
    private int capacity;
    private int length;

    KvCache(int layers, int heads, int headDim) {
        this.layers = layers;
        this.heads = heads;
        this.headDim = headDim;
        this.capacity = 0;
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
    }

    int length() {
        return length;
    }

    void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException(
                    "cannot truncate a cache of " + length + " tokens to " + newLength);
        }
        length = newLength;
    }

    /**
     * Copies this cache into row {@code row} of a left-padded batch tensor {@code [batch][heads]
     * [width][headDim]}, right-aligned so its last token sits at {@code width - 1}.
     */
    void copyInto(int layer, boolean key, float[] batch, int row, int width) {
        float[] source = key ? keys[layer] : values[layer];
        int offset = width - length;
        for (int h = 0; h < heads; h++) {
            int from = h * capacity * headDim;
            int to = ((row * heads + h) * width + offset) * headDim;
            System.arraycopy(source, from, batch, to, length * headDim);
        }
    }

    /**
     * Appends {@code count} positions starting at {@code position} of row {@code row} in a present
     * tensor {@code [batch][heads][width][headDim]}, for both keys and values of one layer.
     */
    void append(
            int layer,
            float[] presentKey,
            float[] presentValue,
            int row,
            int width,
            int position,
            int count) {
        ensureCapacity(length + count);
        for (int h = 0; h < heads; h++) {
            int from = ((row * heads + h) * width + position) * headDim;
            int to = (h * capacity + length) * headDim;
            System.arraycopy(presentKey, from, keys[layer], to, count * headDim);
            System.arraycopy(presentValue, from, values[layer], to, count * headDim);
        }
        if (layer == layers - 1) {
            length += count;
        }
    }

    private void ensureCapacity(int needed) {
        if (needed <= capacity) {
            return;
        }
        int newCapacity = Math.max(needed, Math.max(16, capacity * 3 / 2));
        for (int l = 0; l < layers; l++) {
            keys[l] = regrow(keys[l], newCapacity);
            values[l] = regrow(values[l], newCapacity);
        }
        capacity = newCapacity;
    }

    private float[] regrow(float[] old, int newCapacity) {
        float[] grown = new float[heads * newCapacity * headDim];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(
                    old,
                    h * capacity * headDim,
                    grown,
                    h * newCapacity * headDim,
                    length * headDim);
        }
        return grown;
    }

    /** Bytes held, for memory accounting. */
    long bytes() {
        return 2L * layers * heads * capacity * headDim * Float.BYTES;
    }

    @Override
    public String toString() {
        return "KvCache{length=" + length + ", capacity=" + capacity + "}";
    }
}
