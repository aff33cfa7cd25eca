package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The resident batch's row and column bookkeeping, without a model. */
class KvRowsTest {

    @Test
    void newSequencesTakeFreeRowsInOrderAndPassesAppendLeftPaddedColumns() {
        KvRows rows = new KvRows();
        rows.relaidOut(List.of(), 3, 0, 0);
        assertThat(rows.admit("a")).isZero();
        assertThat(rows.admit("b")).isEqualTo(1);
        assertThat(rows.freeRows()).isEqualTo(1);

        // a brings 3 tokens, b 1: b's token sits in the pass's last column.
        rows.appended(new int[] {0, 1}, new int[] {3, 1}, 3);
        rows.capacity(3);
        assertThat(rows.width()).isEqualTo(3);
        assertThat(rows.cachedLength("a")).isEqualTo(3);
        assertThat(rows.cachedLength("b")).isEqualTo(1);
        assertThat(rows.placements())
                .extracting(p -> p.columns()[p.length() - 1])
                .containsExactly(2, 2);
        assertThat(rows.placements().get(1).columns()[0]).isEqualTo(2);
        assertThat(rows.longestLive()).isEqualTo(3);
    }

    @Test
    void rollbacksAndReleasesLeaveHolesForTheNextPassToClear() {
        KvRows rows = packed(4, 10, "a", 6, "b", 4);
        rows.truncate("a", 4); // columns 4 and 5 of row 0
        rows.release("b"); // columns 0 .. 3 of row 1
        assertThat(rows.holes()).containsExactly(4, 5, 10, 11, 12, 13);
        assertThat(rows.holePairs()).containsExactly(0, 4, 0, 5, 1, 0, 1, 1, 1, 2, 1, 3);
        assertThat(rows.cachedLength("b")).isZero();
        assertThat(rows.holds("b")).isFalse();
        assertThat(rows.sequences()).isEqualTo(1);

        rows.appended(new int[] {0}, new int[] {1}, 1);
        assertThat(rows.holes()).isEmpty();
        // The new token goes after the width in use, not into the hole the rollback left.
        assertThat(rows.placements().get(0).columns()).startsWith(0, 1, 2, 3, 10);
        assertThat(rows.width()).isEqualTo(11);
    }

    @Test
    void truncationBeyondTheCacheFails() {
        KvRows rows = packed(1, 4, "a", 2);
        assertThatThrownBy(() -> rows.truncate("a", 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot truncate a cache of 2 tokens to 3");
        assertThatThrownBy(() -> rows.truncate("unknown", 1))
                .isInstanceOf(IllegalArgumentException.class);
        rows.truncate("unknown", 0);
    }

    @Test
    void crowdedWhenRowsRunOutAreTooManyOrHolesMakeTheBatchWide() {
        KvRows rows = packed(2, 10, "a", 10, "b", 10);
        assertThat(rows.crowded(0, 1)).isFalse();
        assertThat(rows.crowded(1, 1)).as("no free row").isTrue();
        rows.release("b");
        assertThat(rows.crowded(0, 1)).as("free row kept").isFalse();
        rows.truncate("a", 1);
        // width 10 + 1 > 1.2 * (1 + 1) + 8
        assertThat(rows.crowded(0, 1)).as("wide").isTrue();

        KvRows many = packed(8, 2, "a", 2);
        assertThat(many.crowded(0, 1)).as("too many rows").isTrue();
    }

    @Test
    void joinedRowsTakeTheirPromptsAndDropTheHolesTheJoinRewrote() {
        KvRows rows = packed(3, 8, "a", 8, "b", 8);
        rows.release("b"); // holes at row 1, columns 0 .. 7
        assertThat(rows.freeRows(2)).containsExactly(1, 2);
        rows.joined(new int[] {1, 2}, new String[] {"c", "d"}, new int[] {3, 5}, 5);
        // Row 1's columns 5 .. 7 still hold b's tokens in the mask: those holes stay.
        assertThat(rows.holes()).containsExactly(8 + 5, 8 + 6, 8 + 7);
        assertThat(rows.cachedLength("c")).isEqualTo(3);
        assertThat(rows.cachedLength("d")).isEqualTo(5);
        assertThat(rows.width()).isEqualTo(8);
        assertThat(rows.placements()).extracting(Placement::id).containsExactly("a", "c", "d");
    }

    /** A packed batch of {@code rows} rows, {@code width} columns, ids and lengths alternating. */
    private static KvRows packed(int rows, int width, Object... idsAndLengths) {
        List<Placement> placements = new java.util.ArrayList<>();
        for (int i = 0; i < idsAndLengths.length; i += 2) {
            int length = (Integer) idsAndLengths[i + 1];
            placements.add(new Placement((String) idsAndLengths[i], 0, i / 2, new int[0], length));
        }
        KvRows kvRows = new KvRows();
        kvRows.relaidOut(placements, rows, width, width);
        return kvRows;
    }
}
