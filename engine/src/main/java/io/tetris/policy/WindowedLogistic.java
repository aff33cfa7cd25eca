package io.tetris.policy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * A logistic model refitted by a few Newton steps over its latest examples, under a Gaussian prior
 * that carries what the examples before them taught (a Laplace approximation: centred on the
 * weights fitted to them, with their curvature as its precision).
 *
 * <p>Why not one gradient step per example: acceptance data arrives a few dozen outcomes per round,
 * and a per-example step (AdaGrad at any one rate) is either too slow to rank well within a run's
 * first thousand outcomes or too noisy after; on recorded rounds of the bundled pair a refit ranked
 * acceptance 0.03–0.06 AUC better than the best AdaGrad rate. A refit costs its examples times the
 * features squared, so it runs each time the new examples reach an eighth of those kept (at least
 * {@value #MIN_REFIT}): often while little is known, a constant cost per example after. When {@code
 * window} examples are kept they are folded into the prior (its precision halved first, so old
 * outcomes fade as the traffic changes) and a new window begins.
 *
 * <p>What survives a snapshot is the weights and the curvature of their fit, the whole prior a
 * restored model needs: it refines what it restored from the first outcomes after the restore,
 * without the examples themselves (which would make a snapshot megabytes).
 */
final class WindowedLogistic {

    static final int MIN_REFIT = 16;
    private static final int REFIT_FRACTION = 8;
    private static final int NEWTON_STEPS = 3;
    private static final double FADE = 0.5;

    private final int window;
    private final double[] weights;
    private final double[] centre;
    private final double[][] precision; // [d][d] the prior's
    private final double[][] curvature; // [d][d] of the last fit, prior included
    private final double[][] xs; // [window][feature]
    private final double[] ys; // [window]
    private int size;
    private int sinceFit;

    /**
     * @param initial the weights before any example, and the prior's first centre
     * @param window examples kept before they are folded into the prior
     * @param prior precision of the first prior (pseudo-examples' worth of pull towards initial)
     */
    WindowedLogistic(double[] initial, int window, double prior) {
        if (window < MIN_REFIT || !(prior > 0)) {
            throw new IllegalArgumentException(
                    "windowed logistic needs window >= " + MIN_REFIT + " and prior > 0");
        }
        int d = initial.length;
        this.window = window;
        this.weights = initial.clone();
        this.centre = initial.clone();
        this.precision = new double[d][d];
        this.curvature = new double[d][d];
        for (int f = 0; f < d; f++) {
            precision[f][f] = prior;
            curvature[f][f] = prior;
        }
        this.xs = new double[window][];
        this.ys = new double[window];
    }

    /** The predicted probability of a positive outcome. */
    double probability(double[] x) {
        return sigmoid(dot(weights, x));
    }

    /** Adds one example; refits when enough new ones have come. */
    void add(double[] x, boolean positive) {
        if (x.length != weights.length) {
            throw new IllegalArgumentException(
                    "expected " + weights.length + " features, got " + x.length);
        }
        if (size == window) {
            fold();
        }
        xs[size] = x.clone();
        ys[size] = positive ? 1 : 0;
        size++;
        if (++sinceFit >= Math.max(MIN_REFIT, size / REFIT_FRACTION)) {
            sinceFit = 0;
            refit();
        }
    }

    double[] weights() {
        return weights.clone();
    }

    /** The kept examples become the prior: their fit's weights and curvature, faded. */
    private void fold() {
        if (sinceFit > 0) {
            refit();
            sinceFit = 0;
        }
        System.arraycopy(weights, 0, centre, 0, weights.length);
        for (int a = 0; a < weights.length; a++) {
            for (int b = 0; b < weights.length; b++) {
                precision[a][b] = FADE * curvature[a][b];
            }
        }
        size = 0;
    }

    private void refit() {
        int d = weights.length;
        double[] gradient = new double[d];
        double[][] hessian = new double[d][d];
        for (int step = 0; step < NEWTON_STEPS; step++) {
            for (int a = 0; a < d; a++) {
                double g = 0;
                for (int b = 0; b < d; b++) {
                    g += precision[a][b] * (weights[b] - centre[b]);
                }
                gradient[a] = g;
                System.arraycopy(precision[a], 0, hessian[a], 0, d);
            }
            for (int k = 0; k < size; k++) {
                double[] x = xs[k];
                double p = sigmoid(dot(weights, x));
                double error = p - ys[k];
                double c = p * (1 - p);
                for (int a = 0; a < d; a++) {
                    double xa = x[a];
                    if (xa == 0) {
                        continue;
                    }
                    gradient[a] += error * xa;
                    double ca = c * xa;
                    double[] row = hessian[a];
                    for (int b = 0; b <= a; b++) {
                        row[b] += ca * x[b];
                    }
                }
            }
            for (int a = 0; a < d; a++) {
                for (int b = 0; b <= a; b++) {
                    curvature[a][b] = hessian[a][b];
                    curvature[b][a] = hessian[a][b];
                }
            }
            double[] delta = Cholesky.solveLower(hessian, gradient);
            for (int f = 0; f < d; f++) {
                weights[f] -= delta[f];
            }
        }
    }

    void write(DataOutputStream out) throws IOException {
        LearnedState.doubles(out, weights);
        for (double[] row : curvature) {
            LearnedState.doubles(out, row);
        }
    }

    /** Reads a snapshot: its fit becomes the prior, and no examples are kept yet. */
    void read(DataInputStream in) throws IOException {
        LearnedState.doubles(in, weights);
        for (double[] row : curvature) {
            LearnedState.doubles(in, row);
        }
        System.arraycopy(weights, 0, centre, 0, weights.length);
        for (int a = 0; a < weights.length; a++) {
            System.arraycopy(curvature[a], 0, precision[a], 0, weights.length);
        }
        size = 0;
        sinceFit = 0;
    }

    private static double dot(double[] w, double[] x) {
        double s = 0;
        for (int f = 0; f < w.length; f++) {
            s += w[f] * x[f];
        }
        return s;
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    /** Solves a symmetric positive definite system given by its lower triangle. */
    static final class Cholesky {
        private Cholesky() {}

        /**
         * @param lower {@code [d][d]}, entries {@code [a][b]} with {@code b <= a} read; overwritten
         * @return x with {@code A x = rhs}
         */
        static double[] solveLower(double[][] lower, double[] rhs) {
            int d = rhs.length;
            double[][] l = lower;
            for (int a = 0; a < d; a++) {
                for (int b = 0; b <= a; b++) {
                    double s = l[a][b];
                    for (int k = 0; k < b; k++) {
                        s -= l[a][k] * l[b][k];
                    }
                    if (a == b) {
                        if (!(s > 0)) {
                            throw new IllegalStateException("matrix is not positive definite");
                        }
                        l[a][a] = Math.sqrt(s);
                    } else {
                        l[a][b] = s / l[b][b];
                    }
                }
            }
            double[] y = new double[d];
            for (int a = 0; a < d; a++) {
                double s = rhs[a];
                for (int k = 0; k < a; k++) {
                    s -= l[a][k] * y[k];
                }
                y[a] = s / l[a][a];
            }
            double[] x = new double[d];
            for (int a = d - 1; a >= 0; a--) {
                double s = y[a];
                for (int k = a + 1; k < d; k++) {
                    s -= l[k][a] * x[k];
                }
                x[a] = s / l[a][a];
            }
            return x;
        }
    }
}
