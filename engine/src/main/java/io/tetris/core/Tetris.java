package io.tetris.core;

import java.util.Objects;

/**
 * TETRIS draft-token selection (Wu et al., ACL 2025): spends one round's global verification budget
 * on the draft tokens most likely to be accepted.
 *
 * <p>The estimated probability that positions {@code 0..j} of request {@code i} are all accepted is
 * {@code exp(sum_{l <= j} draftLogProbs[i][l])}. Because every log-probability is at most 0 this
 * value never increases with {@code j}, so the {@code budget} largest values always form a prefix
 * of each request's draft, and the greedy choice is optimal for the expected number of accepted
 * tokens. We select them with a k-way merge over the rows (a heap of row heads), which costs {@code
 * O(N + C log B)} for {@code N} candidates, budget {@code C} and {@code B} rows.
 *
 * <p>Ordering is total and deterministic: larger value first, then lower request index, then lower
 * position. Log-probabilities above 0 (float rounding of a log-softmax) are treated as 0 and NaN as
 * negative infinity, so a bad draft value can never break the prefix property.
 */
public final class Tetris {

    private Tetris() {}

    /**
     * Leading draft tokens to verify per request, maximising the expected accepted tokens.
     *
     * @param draftLogProbs {@code [batch][drafted_i]} draft log-probabilities of the drafted
     *     tokens; rows may differ in length, including 0
     * @param budget total number of draft tokens that may be verified this round, at least 0
     * @return {@code [batch]} number of leading draft tokens to verify per request; sums to {@code
     *     min(budget, total drafted)}
     */
    public static int[] select(double[][] draftLogProbs, int budget) {
        Objects.requireNonNull(draftLogProbs, "draftLogProbs");
        return selectLog(draftLogProbs, new double[draftLogProbs.length], budget, null);
    }

    /**
     * Weighted variant: maximises {@code sum_i weights[i] * sum_{j < n[i]} exp(cumulative log
     * prob)}, so a request with a higher priority weight wins more of the budget.
     *
     * @param weights {@code [batch]} strictly positive, finite weights
     */
    public static int[] select(double[][] draftLogProbs, double[] weights, int budget) {
        Objects.requireNonNull(draftLogProbs, "draftLogProbs");
        return selectLog(draftLogProbs, logWeights(draftLogProbs, weights), budget, null);
    }

    /**
     * The whole greedy selection order: the request index of every pick, best first, over all
     * drafted tokens. Its first {@code C} entries are exactly what {@link #select(double[][],
     * double[], int)} chooses for budget {@code C}, so a caller can weigh every budget in one pass.
     *
     * @param weights {@code [batch]} strictly positive, finite weights
     * @return {@code [total drafted]} the request each successive pick extends by one token
     */
    public static int[] order(double[][] draftLogProbs, double[] weights) {
        Objects.requireNonNull(draftLogProbs, "draftLogProbs");
        int total = 0;
        for (double[] row : draftLogProbs) {
            total += Objects.requireNonNull(row, "draftLogProbs row").length;
        }
        int[] order = new int[total];
        selectLog(draftLogProbs, logWeights(draftLogProbs, weights), total, order);
        return order;
    }

    private static double[] logWeights(double[][] draftLogProbs, double[] weights) {
        Objects.requireNonNull(weights, "weights");
        if (weights.length != draftLogProbs.length) {
            throw new IllegalArgumentException(
                    "weights has "
                            + weights.length
                            + " entries but draftLogProbs has "
                            + draftLogProbs.length
                            + " rows");
        }
        double[] logWeights = new double[weights.length];
        for (int i = 0; i < weights.length; i++) {
            if (!(weights[i] > 0) || Double.isInfinite(weights[i])) {
                throw new IllegalArgumentException(
                        "weights[" + i + "] must be finite and > 0, was " + weights[i]);
            }
            logWeights[i] = Math.log(weights[i]);
        }
        return logWeights;
    }

    private static int[] selectLog(
            double[][] draftLogProbs, double[] logWeights, int budget, int[] order) {
        if (budget < 0) {
            throw new IllegalArgumentException("budget must be >= 0, was " + budget);
        }
        int rows = draftLogProbs.length;
        int[] selected = new int[rows]; // [batch]
        // Running cumulative log value of each row's next unselected candidate (its head).
        double[] head = new double[rows]; // [batch]
        RowHeap heap = new RowHeap(rows, head);
        for (int i = 0; i < rows; i++) {
            double[] row = Objects.requireNonNull(draftLogProbs[i], "draftLogProbs row");
            if (row.length > 0) {
                head[i] = logWeights[i] + clamp(row[0]);
                heap.add(i);
            }
        }
        for (int spent = 0; spent < budget && !heap.isEmpty(); spent++) {
            int i = heap.peek();
            if (order != null) {
                order[spent] = i;
            }
            int taken = ++selected[i];
            double[] row = draftLogProbs[i];
            if (taken < row.length) {
                head[i] += clamp(row[taken]);
                heap.siftDownTop();
            } else {
                heap.removeTop();
            }
        }
        return selected;
    }

    private static double clamp(double logProb) {
        if (Double.isNaN(logProb)) {
            return Double.NEGATIVE_INFINITY;
        }
        return Math.min(0.0, logProb);
    }

    /** Binary max-heap of row indices ordered by (head value desc, row index asc). */
    private static final class RowHeap {
        private final int[] rows;
        private final double[] key;
        private int size;

        RowHeap(int capacity, double[] key) {
            this.rows = new int[capacity];
            this.key = key;
        }

        boolean isEmpty() {
            return size == 0;
        }

        int peek() {
            return rows[0];
        }

        void add(int row) {
            int pos = size++;
            rows[pos] = row;
            while (pos > 0) {
                int parent = (pos - 1) >>> 1;
                if (!before(rows[pos], rows[parent])) {
                    break;
                }
                swap(pos, parent);
                pos = parent;
            }
        }

        void removeTop() {
            rows[0] = rows[--size];
            siftDownTop();
        }

        void siftDownTop() {
            int pos = 0;
            while (true) {
                int left = 2 * pos + 1;
                if (left >= size) {
                    return;
                }
                int best = left;
                int right = left + 1;
                if (right < size && before(rows[right], rows[left])) {
                    best = right;
                }
                if (!before(rows[best], rows[pos])) {
                    return;
                }
                swap(pos, best);
                pos = best;
            }
        }

        private boolean before(int a, int b) {
            double ka = key[a];
            double kb = key[b];
            return ka > kb || (ka == kb && a < b);
        }

        private void swap(int a, int b) {
            int t = rows[a];
            rows[a] = rows[b];
            rows[b] = t;
        }
    }
}
