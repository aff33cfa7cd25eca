package io.tetris.policy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * A logistic model refitted by a few Newton steps over a window of its latest examples, under a
 * Gaussian prior centred on the weights it had when the window began.
 *
 * <p>Why not one gradient step per example: acceptance data arrives a few dozen outcomes per round,
 * and a per-example step (AdaGrad at any one rate) is either too slow to rank well within a run's
 * first thousand outcomes or too noisy after; on recorded rounds of the bundled pair a windowed
 * refit ranked acceptance 0.03–0.06 AUC better than the best AdaGrad rate. A refit costs its window
 * times the features squared, so it runs each time the new examples reach an eighth of the window
 * (at least {@value #MIN_REFIT}): frequent while little is known, a constant cost per example
 * after.
 *
 * <p>What survives a snapshot is the weights only. A restored model keeps them until it has seen
 * {@value #RESTORED_REFIT} new outcomes, then refits on what it saw since, pulled towards the
 * weights it restored: a refit on a handful of outcomes would throw away what they summarise.
 */
final class WindowedLogistic {

    static final int MIN_REFIT = 16;
    static final int RESTORED_REFIT = 256;
    private static final int REFIT_FRACTION = 8;
    private static final int NEWTON_STEPS = 3;

    private final int window;
    private final double prior;
    private final double[] weights;
    private final double[] centre;
    private final double[][] xs; // [window][feature], a ring
    private final double[] ys; // [window]
    private int size;
    private int next;
    private int sinceFit;
    private boolean restored;

    /**
     * @param initial the weights before any example, and the prior's first centre
     * @param window examples each refit uses, the latest
     * @param prior precision of the Gaussian prior (pseudo-examples' worth of pull)
     */
    WindowedLogistic(double[] initial, int window, double prior) {
        if (window < MIN_REFIT || !(prior > 0)) {
            throw new IllegalArgumentException(
                    "windowed logistic needs window >= " + MIN_REFIT + " and prior > 0");
        }
        this.window = window;
        this.prior = prior;
        this.weights = initial.clone();
        this.centre = initial.clone();
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
        xs[next] = x.clone();
        ys[next] = positive ? 1 : 0;
        next = (next + 1) % window;
        size = Math.min(window, size + 1);
        if (next == 0) {
            // The window has turned over: what it taught is now the prior for the next.
            System.arraycopy(weights, 0, centre, 0, weights.length);
        }
        int due = Math.max(restored ? RESTORED_REFIT : MIN_REFIT, size / REFIT_FRACTION);
        if (++sinceFit >= due) {
            sinceFit = 0;
            restored = false;
            refit();
        }
    }

    double[] weights() {
        return weights.clone();
    }

    private void refit() {
        int d = weights.length;
        double[] gradient = new double[d];
        double[][] hessian = new double[d][d];
        for (int step = 0; step < NEWTON_STEPS; step++) {
            for (int f = 0; f < d; f++) {
                gradient[f] = prior * (weights[f] - centre[f]);
                java.util.Arrays.fill(hessian[f], 0);
                hessian[f][f] = prior;
            }
            for (int k = 0; k < size; k++) {
                double[] x = xs[k];
                double p = sigmoid(dot(weights, x));
                double error = p - ys[k];
                double curvature = p * (1 - p);
                for (int a = 0; a < d; a++) {
                    double xa = x[a];
                    if (xa == 0) {
                        continue;
                    }
                    gradient[a] += error * xa;
                    double ca = curvature * xa;
                    double[] row = hessian[a];
                    for (int b = 0; b <= a; b++) {
                        row[b] += ca * x[b];
                    }
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
    }

    /** Reads the weights; the window starts empty and the prior is centred on them. */
    void read(DataInputStream in) throws IOException {
        LearnedState.doubles(in, weights);
        System.arraycopy(weights, 0, centre, 0, weights.length);
        size = 0;
        next = 0;
        sinceFit = 0;
        restored = true;
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
