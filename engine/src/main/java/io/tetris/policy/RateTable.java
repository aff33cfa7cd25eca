package io.tetris.policy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Acceptance counted per key (a token id, a pair of them), each rate shrunk towards a prior so that
 * a key seen twice does not claim certainty. Keeps the {@code capacity} keys used most recently.
 */
final class RateTable {

    private final double priorWeight;
    private final Map<Long, double[]> counts; // key -> {accepted, seen}

    /**
     * @param priorWeight pseudo-observations of the prior rate each key's rate starts from
     * @param capacity keys kept, the most recently used
     */
    RateTable(double priorWeight, int capacity) {
        this.priorWeight = priorWeight;
        this.counts =
                new LinkedHashMap<>(64, 0.75f, true) {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<Long, double[]> eldest) {
                        return size() > capacity;
                    }
                };
    }

    /** The key's rate shrunk towards {@code prior}; {@code prior} for a key never counted. */
    double rate(long key, double prior) {
        double[] c = counts.get(key);
        return c == null ? prior : (c[0] + priorWeight * prior) / (c[1] + priorWeight);
    }

    void count(long key, boolean accepted) {
        double[] c = counts.computeIfAbsent(key, k -> new double[2]);
        c[0] += accepted ? 1 : 0;
        c[1]++;
    }

    /** Writes the counts in key order: equal state, equal bytes. */
    void write(DataOutputStream out) throws IOException {
        Map<Long, double[]> sorted = new TreeMap<>(counts);
        out.writeInt(sorted.size());
        for (Map.Entry<Long, double[]> e : sorted.entrySet()) {
            out.writeLong(e.getKey());
            LearnedState.doubles(out, e.getValue());
        }
    }

    /** Replaces the counts with those {@link #write} wrote. */
    void read(DataInputStream in) throws IOException {
        counts.clear();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            long key = in.readLong();
            double[] c = new double[2];
            LearnedState.doubles(in, c);
            counts.put(key, c);
        }
    }
}
