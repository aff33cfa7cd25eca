package io.tetris.model.ortnative;

/**
 * The scatter indices that put prefilled sequences into free rows, in plain Java: prefilled row
 * {@code m} (its prompt of {@code length[m]} tokens left-padded to {@code newTokens}) lands in
 * columns {@code [0, newTokens)} of row {@code target[m]}, rotated so that the prompt takes columns
 * {@code [0, length[m])} and the padding the holes after it.
 *
 * @param kvIndex {@code [f][heads][newTokens][3]} (row, head, column) for the caches
 * @param maskIndex {@code [f][newTokens][2]} (row, column) for the mask
 * @param maskValues {@code [f][newTokens]} 1 for a prompt column, 0 for padding
 */
record JoinPlan(
        int[] target,
        int[] length,
        int newTokens,
        long[] kvIndex,
        long[] maskIndex,
        long[] maskValues) {

    static JoinPlan of(int[] target, int[] length, int newTokens, int heads) {
        int f = target.length;
        long[] kvIndex = new long[f * heads * newTokens * 3];
        long[] maskIndex = new long[f * newTokens * 2];
        long[] maskValues = new long[f * newTokens];
        for (int m = 0; m < f; m++) {
            for (int j = 0; j < newTokens; j++) {
                int column = (j + length[m]) % newTokens;
                for (int h = 0; h < heads; h++) {
                    int at = ((m * heads + h) * newTokens + j) * 3;
                    kvIndex[at] = target[m];
                    kvIndex[at + 1] = h;
                    kvIndex[at + 2] = column;
                }
                maskIndex[(m * newTokens + j) * 2] = target[m];
                maskIndex[(m * newTokens + j) * 2 + 1] = column;
                maskValues[m * newTokens + j] = column < length[m] ? 1 : 0;
            }
        }
        return new JoinPlan(target, length, newTokens, kvIndex, maskIndex, maskValues);
    }

    int sequences() {
        return target.length;
    }
}
