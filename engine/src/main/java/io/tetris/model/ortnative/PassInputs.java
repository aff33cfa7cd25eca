package io.tetris.model.ortnative;

import io.tetris.model.LanguageModel.Extension;
import java.util.List;

/**
 * A pass's own inputs, each {@code [rows][newTokens]} with every row's new tokens left-padded to
 * the longest: token ids, their positions in their sequences, and the new mask columns (1 for a
 * token, 0 for padding).
 *
 * @param members batch indices of the extensions in the pass
 * @param rowOfMember {@code [members]} the row each member's tokens sit in
 */
record PassInputs(
        int rows,
        int newTokens,
        long[] inputIds,
        long[] positions,
        long[] maskNew,
        List<Integer> members,
        int[] rowOfMember) {

    /** {@code members} at the rows {@code kvRows} gives them, continuing their cached tokens. */
    static PassInputs step(
            List<Extension> batch, List<Integer> members, KvRows kvRows, int newTokens) {
        int[] rowOfMember = new int[members.size()];
        int[] past = new int[members.size()];
        for (int m = 0; m < members.size(); m++) {
            rowOfMember[m] = kvRows.row(batch.get(members.get(m)).sequenceId());
            past[m] = kvRows.length(rowOfMember[m]);
        }
        return of(batch, members, kvRows.rows(), rowOfMember, past, newTokens);
    }

    /** New sequences in a batch of their own, one row each, in order. */
    static PassInputs prefill(List<Extension> batch, List<Integer> fresh, int newTokens) {
        int[] rowOfMember = new int[fresh.size()];
        for (int m = 0; m < rowOfMember.length; m++) {
            rowOfMember[m] = m;
        }
        return of(batch, fresh, fresh.size(), rowOfMember, new int[fresh.size()], newTokens);
    }

    private static PassInputs of(
            List<Extension> batch,
            List<Integer> members,
            int rows,
            int[] rowOfMember,
            int[] past,
            int newTokens) {
        long[] inputIds = new long[rows * newTokens];
        long[] positions = new long[rows * newTokens];
        long[] maskNew = new long[rows * newTokens];
        for (int m = 0; m < members.size(); m++) {
            int[] tokens = batch.get(members.get(m)).tokens();
            int r = rowOfMember[m];
            int t = tokens.length;
            for (int j = 0; j < t; j++) {
                int col = r * newTokens + newTokens - t + j;
                inputIds[col] = tokens[j];
                positions[col] = past[m] + j;
                maskNew[col] = 1;
            }
        }
        return new PassInputs(rows, newTokens, inputIds, positions, maskNew, members, rowOfMember);
    }

    /** {@code [members]} how many new tokens each member has. */
    int[] counts(List<Extension> batch) {
        int[] counts = new int[members.size()];
        for (int m = 0; m < counts.length; m++) {
            counts[m] = batch.get(members.get(m)).tokens().length;
        }
        return counts;
    }
}
