package io.tetris.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Tests for {@link Tetris}: optimality against exhaustive search, prefixes, ties and limits. */
class TetrisTest {

    /** Log-probabilities drawn from a small set so that ties are frequent. */
    private static final double[] TIE_PRONE = {0.0, Math.log(0.5), Math.log(0.25), -1.0, -3.0};

    @Test
    void matchesExhaustiveSearchOnRandomInstances() {
        SplittableRandom random = new SplittableRandom(20250215);
        for (int instance = 0; instance < 5000; instance++) {
            boolean ties = instance % 2 == 0;
            boolean weighted = instance % 3 == 0;
            double[][] logProbs = randomRows(random, random.nextInt(0, 5), 5, ties);
            double[] weights = weighted ? randomWeights(random, logProbs.length, ties) : null;
            int total = total(logProbs);
            int budget = random.nextInt(0, total + 3);

            int[] chosen =
                    weighted
                            ? Tetris.select(logProbs, weights, budget)
                            : Tetris.select(logProbs, budget);

            double[] w = weights != null ? weights : ones(logProbs.length);
            assertThat(sum(chosen)).isEqualTo(Math.min(budget, total));
            for (int i = 0; i < chosen.length; i++) {
                assertThat(chosen[i]).isBetween(0, logProbs[i].length);
            }
            assertThat(objective(logProbs, w, chosen))
                    .as("instance %d", instance)
                    .isCloseTo(exhaustiveBest(logProbs, w, budget), within(1e-9));
            assertThat(chosen).isEqualTo(referenceTopC(logProbs, w, budget));
        }
    }

    @Test
    void everyPrefixOfTheOrderIsTheSelectionForThatBudget() {
        SplittableRandom random = new SplittableRandom(11);
        for (int instance = 0; instance < 500; instance++) {
            double[][] logProbs = randomRows(random, random.nextInt(0, 6), 6, instance % 2 == 0);
            double[] w = randomWeights(random, logProbs.length, instance % 2 == 0);
            int[] order = Tetris.order(logProbs, w);
            assertThat(order).hasSize(total(logProbs));
            int[] counts = new int[logProbs.length];
            for (int c = 0; c <= order.length; c++) {
                assertThat(counts).isEqualTo(Tetris.select(logProbs, w, c));
                if (c < order.length) {
                    counts[order[c]]++;
                }
            }
        }
    }

    @Test
    void selectedSetIsAlwaysAPrefixPerRequestEvenWithCertainTokens() {
        // Log-probability 0 everywhere: every candidate of a row ties; order must stay prefix.
        double[][] logProbs = {{0, 0, 0}, {0, 0}, {0, 0, 0, 0}};
        assertThat(Tetris.select(logProbs, 4)).containsExactly(3, 1, 0);
        assertThat(Tetris.select(logProbs, 9)).containsExactly(3, 2, 4);
    }

    @Test
    void givesTheBudgetToTheMostConfidentRequest() {
        double[][] logProbs = {
            {Math.log(0.9), Math.log(0.9), Math.log(0.9)}, {Math.log(0.2), Math.log(0.9)},
        };
        // Cumulative: row 0: .9 .81 .729; row 1: .2 .18.
        assertThat(Tetris.select(logProbs, 2)).containsExactly(2, 0);
        assertThat(Tetris.select(logProbs, 3)).containsExactly(3, 0);
        assertThat(Tetris.select(logProbs, 4)).containsExactly(3, 1);
    }

    @Test
    void weightsShiftTheBudgetTowardsHeavierRequests() {
        double[][] logProbs = {{Math.log(0.6), Math.log(0.6)}, {Math.log(0.5), Math.log(0.5)}};
        // Unweighted: 0.6 and 0.5 beat 0.36.
        assertThat(Tetris.select(logProbs, new double[] {1, 1}, 2)).containsExactly(1, 1);
        // 3 x 0.5 = 1.5 and 3 x 0.25 = 0.75 both beat 0.6.
        assertThat(Tetris.select(logProbs, new double[] {1, 3}, 2)).containsExactly(0, 2);
    }

    @Test
    void tiesGoToTheLowerRequestIndex() {
        double[][] logProbs = {{-1.0}, {-1.0}, {-1.0}};
        assertThat(Tetris.select(logProbs, 1)).containsExactly(1, 0, 0);
        assertThat(Tetris.select(logProbs, 2)).containsExactly(1, 1, 0);
    }

    @Test
    void handlesEmptyBatchZeroBudgetAndEmptyRows() {
        assertThat(Tetris.select(new double[0][], 5)).isEmpty();
        assertThat(Tetris.select(new double[][] {{-0.1}, {-0.2}}, 0)).containsExactly(0, 0);
        assertThat(Tetris.select(new double[][] {{}, {-0.2}, {}}, 5)).containsExactly(0, 1, 0);
    }

    @Test
    void treatsPositiveLogProbsAsCertainAndNanAsImpossible() {
        double[][] logProbs = {{1e-7, -0.1}, {Double.NaN}, {-0.05}};
        // Row 0 head is clamped to 0 (cumulative -0.1 after two); NaN sorts last.
        assertThat(Tetris.select(logProbs, 2)).containsExactly(1, 0, 1);
        assertThat(Tetris.select(logProbs, 4)).containsExactly(2, 1, 1);
    }

    @Test
    void rejectsBadArguments() {
        double[][] logProbs = {{-0.1}};
        assertThatThrownBy(() -> Tetris.select(logProbs, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("budget");
        assertThatThrownBy(() -> Tetris.select(logProbs, new double[] {0}, 1))
                .hasMessageContaining("weights[0]");
        assertThatThrownBy(() -> Tetris.select(logProbs, new double[] {1, 1}, 1))
                .hasMessageContaining("rows");
    }

    // ----- reference implementations -----

    /** Maximum objective over every prefix allocation that spends at most the budget. */
    private static double exhaustiveBest(double[][] logProbs, double[] weights, int budget) {
        return search(logProbs, weights, 0, budget);
    }

    private static double search(double[][] logProbs, double[] w, int row, int budgetLeft) {
        if (row == logProbs.length) {
            return 0;
        }
        double best = Double.NEGATIVE_INFINITY;
        double gained = 0;
        double cumulative = 0;
        for (int n = 0; n <= Math.min(logProbs[row].length, budgetLeft); n++) {
            if (n > 0) {
                cumulative += logProbs[row][n - 1];
                gained += w[row] * Math.exp(cumulative);
            }
            best = Math.max(best, gained + search(logProbs, w, row + 1, budgetLeft - n));
        }
        return best;
    }

    /** Sorts every candidate by (value desc, request asc, position asc) and takes the first C. */
    private static int[] referenceTopC(double[][] logProbs, double[] weights, int budget) {
        record Candidate(int row, int position, double value) {}
        List<Candidate> all = new ArrayList<>();
        for (int i = 0; i < logProbs.length; i++) {
            double cumulative = Math.log(weights[i]);
            for (int j = 0; j < logProbs[i].length; j++) {
                cumulative += logProbs[i][j];
                all.add(new Candidate(i, j, cumulative));
            }
        }
        all.sort(
                Comparator.comparingDouble((Candidate c) -> -c.value())
                        .thenComparingInt(Candidate::row)
                        .thenComparingInt(Candidate::position));
        int[] counts = new int[logProbs.length];
        boolean[][] taken = new boolean[logProbs.length][];
        for (int i = 0; i < logProbs.length; i++) {
            taken[i] = new boolean[logProbs[i].length];
        }
        for (Candidate c : all.subList(0, Math.min(budget, all.size()))) {
            counts[c.row()]++;
            taken[c.row()][c.position()] = true;
        }
        for (int i = 0; i < taken.length; i++) {
            for (int j = 0; j < counts[i]; j++) {
                assertThat(taken[i][j]).as("reference selection is a prefix of row %d", i).isTrue();
            }
        }
        return counts;
    }

    private static double objective(double[][] logProbs, double[] weights, int[] chosen) {
        double total = 0;
        for (int i = 0; i < chosen.length; i++) {
            double cumulative = 0;
            for (int j = 0; j < chosen[i]; j++) {
                cumulative += logProbs[i][j];
                total += weights[i] * Math.exp(cumulative);
            }
        }
        return total;
    }

    private static double[][] randomRows(
            SplittableRandom random, int rows, int maxLength, boolean ties) {
        double[][] out = new double[rows][];
        for (int i = 0; i < rows; i++) {
            out[i] = new double[random.nextInt(0, maxLength + 1)];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] =
                        ties
                                ? TIE_PRONE[random.nextInt(TIE_PRONE.length)]
                                : Math.log(random.nextDouble(1e-6, 1.0));
            }
        }
        return out;
    }

    private static double[] randomWeights(SplittableRandom random, int n, boolean ties) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = ties ? 1 + random.nextInt(3) : random.nextDouble(0.1, 4.0);
        }
        return w;
    }

    private static double[] ones(int n) {
        double[] w = new double[n];
        java.util.Arrays.fill(w, 1.0);
        return w;
    }

    private static int total(double[][] rows) {
        int n = 0;
        for (double[] row : rows) {
            n += row.length;
        }
        return n;
    }

    private static int sum(int[] values) {
        int n = 0;
        for (int v : values) {
            n += v;
        }
        return n;
    }
}
