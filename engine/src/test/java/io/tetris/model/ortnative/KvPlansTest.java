package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.NextTokens;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The index arrays the resident batch hands to ONNX Runtime, computed without a model. */
class KvPlansTest {

    @Test
    void aRelayoutPacksEachPlacementsColumnsLeftAndRepeatsTheLastIntoTheRoom() {
        List<GatherPlan.Source> sources =
                List.of(new GatherPlan.Source(2, 5, false), new GatherPlan.Source(1, 3, false));
        List<Placement> placements =
                List.of(
                        new Placement("a", 0, 1, new int[] {0, 3}, 2),
                        Placement.prefilled("p", 0, 2, 3));
        int heads = 2;
        GatherPlan plan = GatherPlan.of(placements, sources, 3, 4, heads);
        long[] index = plan.index();
        int cells = 3 * 4;
        assertThat(index).hasSize(cells + 2 * 3 + heads);
        assertThat(slice(index, 0, 4)).containsExactly(0, 3, 3, 3);
        assertThat(slice(index, 4, 8)).containsExactly(1, 2, 2, 2);
        assertThat(slice(index, 8, 12)).containsExactly(0, 0, 0, 0); // a free row
        // Starts: row 1 of source 0 (2 heads x 5 columns each), row 0 of source 1 after source 0.
        assertThat(slice(index, cells, cells + 3)).containsExactly(10, 2 * 2 * 5, 0);
        assertThat(slice(index, cells + 3, cells + 6)).containsExactly(5, 3, 0);
        assertThat(slice(index, cells + 6, cells + 8)).containsExactly(0, 1);
        assertThat(plan.used()).containsExactly(0, 1);

        assertThat(GatherPlan.packedMask(placements, 3, 4))
                .containsExactly(1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0);
    }

    @Test
    void emptySourcesAreLeftOutOfTheJoinedData() {
        List<GatherPlan.Source> sources =
                List.of(new GatherPlan.Source(0, 0, true), new GatherPlan.Source(2, 4, false));
        GatherPlan plan =
                GatherPlan.of(List.of(Placement.prefilled("p", 1, 3, 4)), sources, 1, 3, 1);
        assertThat(plan.used()).containsExactly(1);
        assertThat(plan.index()).containsExactly(1, 2, 3, 4, 4, 0);
    }

    @Test
    void aJoinRotatesEachPromptToTheRowStart() {
        JoinPlan plan = JoinPlan.of(new int[] {5}, new int[] {2}, 3, 1);
        // Prefilled columns 0 .. 2 hold [pad, t0, t1]: they land at columns 2, 0, 1.
        assertThat(plan.kvIndex()).containsExactly(5, 0, 2, 5, 0, 0, 5, 0, 1);
        assertThat(plan.maskIndex()).containsExactly(5, 2, 5, 0, 5, 1);
        assertThat(plan.maskValues()).containsExactly(0, 1, 1);
    }

    @Test
    void passInputsLeftPadEachRowAndContinueItsPositions() {
        KvRows rows = new KvRows();
        rows.relaidOut(List.of(new Placement("a", 0, 0, new int[0], 4)), 2, 4, 4);
        rows.admit("b");
        List<Extension> batch =
                List.of(new Extension("b", new int[] {7, 8}), new Extension("a", new int[] {9}));
        PassInputs pass = PassInputs.step(batch, List.of(1, 0), rows, 2);
        assertThat(pass.rowOfMember()).containsExactly(0, 1);
        assertThat(pass.inputIds()).containsExactly(0, 9, 7, 8);
        assertThat(pass.positions()).containsExactly(0, 4, 0, 1);
        assertThat(pass.maskNew()).containsExactly(0, 1, 1, 1);
        assertThat(pass.counts(batch)).containsExactly(1, 2);

        PassInputs prefill = PassInputs.prefill(batch, List.of(0), 3);
        assertThat(prefill.inputIds()).containsExactly(0, 7, 8);
        assertThat(prefill.positions()).containsExactly(0, 0, 1);
    }

    @Test
    void wantedLogitsAreEachMembersLastPositionsAndSampledOnesInFull() {
        List<Extension> batch =
                List.of(
                        new Extension("a", new int[] {1, 2, 3}, 2, true),
                        new Extension("b", new int[] {4}, 1, false));
        PassInputs pass =
                new PassInputs(
                        2,
                        3,
                        new long[6],
                        new long[6],
                        new long[6],
                        List.of(0, 1),
                        new int[] {1, 0});
        WantedLogits wanted = WantedLogits.of(batch, pass);
        assertThat(wanted.rows()).containsExactly(4, 5, 2);
        assertThat(wanted.fullRows()).containsExactly(2);

        float[] row = {0.5f};
        LogitsReducer.Reduced reduced =
                new LogitsReducer.Reduced(
                        new long[] {10, 11, 12},
                        new float[] {-1, -2, -3},
                        new float[] {-4, -5, -6},
                        new float[][] {row},
                        0);
        NextTokens[] out = new NextTokens[2];
        wanted.deliver(batch, pass.members(), reduced, out);
        assertThat(out[0].argmax()).containsExactly(10, 11);
        assertThat(out[0].reduced()).isTrue();
        assertThat(out[1].argmax()).containsExactly(12);
        assertThat(out[1].logProbs()[0]).isSameAs(row);
    }

    private static long[] slice(long[] values, int from, int to) {
        return java.util.Arrays.copyOfRange(values, from, to);
    }
}
