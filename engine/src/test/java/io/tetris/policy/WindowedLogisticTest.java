package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WindowedLogisticTest {

    private static final double[] TRUE_WEIGHTS = {-0.5, 2.0, -1.5, 0.8};

    @Test
    void recoversTheWeightsThatMadeTheData() {
        WindowedLogistic model = new WindowedLogistic(new double[4], 2048, 1);
        Random rng = new Random(3);
        for (int k = 0; k < 6000; k++) {
            add(model, rng);
        }
        double[] w = model.weights();
        for (int f = 0; f < w.length; f++) {
            assertThat(w[f]).as("weight %d", f).isCloseTo(TRUE_WEIGHTS[f], within(0.2));
        }
    }

    @Test
    void startsFromItsInitialWeights() {
        WindowedLogistic model = new WindowedLogistic(new double[] {0, 1}, 64, 1);
        assertThat(model.probability(new double[] {1, 2})).isCloseTo(sigmoid(2), within(1e-12));
    }

    /**
     * A restored model keeps what it learned: it does not refit on a handful of outcomes after the
     * restore (its window is not in the snapshot), and when it does, it refines what it restored.
     */
    @Test
    void aRestoredModelIsPulledTowardsWhatItRestored() throws Exception {
        WindowedLogistic trained = new WindowedLogistic(new double[4], 2048, 1);
        Random rng = new Random(5);
        for (int k = 0; k < 6000; k++) {
            add(trained, rng);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        trained.write(new DataOutputStream(bytes));
        WindowedLogistic restored = new WindowedLogistic(new double[4], 2048, 1);
        restored.read(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        assertThat(restored.weights()).isEqualTo(trained.weights());
        for (int k = 0; k < WindowedLogistic.RESTORED_REFIT - 1; k++) {
            add(restored, rng);
        }
        assertThat(restored.weights()).isEqualTo(trained.weights());
        add(restored, rng);
        assertThat(restored.weights()).isNotEqualTo(trained.weights());
        double[] w = restored.weights();
        for (int f = 0; f < w.length; f++) {
            assertThat(w[f]).as("weight %d", f).isCloseTo(TRUE_WEIGHTS[f], within(0.25));
        }
    }

    @Test
    void solvesASymmetricPositiveDefiniteSystem() {
        double[][] a = {{4, 1, 0.5}, {1, 3, 0.2}, {0.5, 0.2, 2}};
        double[] x = {1, -2, 0.5};
        double[] rhs = new double[3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                rhs[i] += a[i][j] * x[j];
            }
        }
        double[] solved = WindowedLogistic.Cholesky.solveLower(a, rhs);
        for (int i = 0; i < 3; i++) {
            assertThat(solved[i]).isCloseTo(x[i], within(1e-12));
        }
    }

    private static void add(WindowedLogistic model, Random rng) {
        double[] x = {1, rng.nextGaussian(), rng.nextGaussian(), rng.nextDouble() < 0.5 ? 1 : 0};
        double z = 0;
        for (int f = 0; f < x.length; f++) {
            z += TRUE_WEIGHTS[f] * x[f];
        }
        model.add(x, rng.nextDouble() < sigmoid(z));
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }
}
