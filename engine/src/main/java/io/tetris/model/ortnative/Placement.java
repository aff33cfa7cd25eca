package io.tetris.model.ortnative;

/**
 * Where a row of a new resident layout comes from: a source batch, its row there, and the columns
 * of its cached tokens, in order.
 */
record Placement(String id, int source, int row, int[] columns, int length) {

    /**
     * Row {@code row} of a prefill pass (source 1) whose {@code tokens} new tokens were left-padded
     * to {@code newTokens}.
     */
    static Placement prefilled(String id, int row, int tokens, int newTokens) {
        int[] columns = new int[tokens];
        for (int j = 0; j < tokens; j++) {
            columns[j] = newTokens - tokens + j;
        }
        return new Placement(id, 1, row, columns, tokens);
    }
}
