package io.tetris.policy;

import java.util.Arrays;

/**
 * Online calibration of draft confidence into acceptance probability.
 *
 * <p>TETRIS ranks draft tokens by the draft model's own probability, but a small draft is
 * miscalibrated (our bundled one is overconfident deep into a window), and the ranking is only as
 * good as the estimate. This learns, per calibration group (requests sharing a logits transform:
 * greedy or sampled, since pooling them would mix different acceptance laws) and per draft
 * position, the probability that a token is accepted given that the tokens before it were, as a
 * function of its draft probability.
 *
 * <p>Draft probabilities are binned; each bin's rate is shrunk towards the identity (the raw
 * probability at the bin centre, weighted as {@code prior} pseudo-observations), then made
 * non-decreasing in probability by pooling adjacent violators (isotonic regression), and estimates
 * interpolate linearly between bin centres. With no data the estimate is the raw probability, so
 * calibrated TETRIS starts as plain TETRIS.
 */
public final class AcceptanceCalibrator {

    private final int groups;
    private final int positions;
    private final int bins;
    private final double prior;
    private final double[][][] observed; // [group][position][bin]
    private final double[][][] accepted; // [group][position][bin]
    private final double[][][] curve; // [group][position][bin] calibrated rate at bin centres
    private final boolean[][] stale; // [group][position]

    /**
     * @param groups calibration groups, at least 1
     * @param positions draft positions told apart; deeper ones share the last
     * @param bins probability bins over [0, 1]
     * @param prior pseudo-observations pulling each bin towards the raw probability, at least 0
     */
    public AcceptanceCalibrator(int groups, int positions, int bins, double prior) {
        if (groups < 1 || positions < 1 || bins < 2 || !(prior >= 0)) {
            throw new IllegalArgumentException(
                    "calibrator needs groups >= 1, positions >= 1, bins >= 2 and prior >= 0");
        }
        this.groups = groups;
        this.positions = positions;
        this.bins = bins;
        this.prior = prior;
        this.observed = new double[groups][positions][bins];
        this.accepted = new double[groups][positions][bins];
        this.curve = new double[groups][positions][];
        this.stale = new boolean[groups][positions];
        for (boolean[] row : stale) {
            Arrays.fill(row, true);
        }
    }

    /** A copy that learns on independently. */
    public AcceptanceCalibrator copy() {
        AcceptanceCalibrator c = new AcceptanceCalibrator(groups, positions, bins, prior);
        for (int g = 0; g < groups; g++) {
            for (int p = 0; p < positions; p++) {
                c.observed[g][p] = observed[g][p].clone();
                c.accepted[g][p] = accepted[g][p].clone();
            }
        }
        return c;
    }

    /** Writes what it has observed ({@link LearnedState}); the curves are derived from it. */
    void write(java.io.DataOutputStream out) throws java.io.IOException {
        for (int g = 0; g < groups; g++) {
            for (int p = 0; p < positions; p++) {
                LearnedState.doubles(out, observed[g][p]);
                LearnedState.doubles(out, accepted[g][p]);
            }
        }
    }

    /** Reads what {@link #write} wrote, replacing what this one observed. */
    void read(java.io.DataInputStream in) throws java.io.IOException {
        for (int g = 0; g < groups; g++) {
            for (int p = 0; p < positions; p++) {
                LearnedState.doubles(in, observed[g][p]);
                LearnedState.doubles(in, accepted[g][p]);
                stale[g][p] = true;
            }
        }
    }

    /**
     * The estimated probability that a draft token is accepted, given its predecessors were.
     *
     * @param group calibration group of the request
     * @param position the token's draft position, 0 for the first
     * @param logProb the draft's log-probability of the token
     */
    public double estimate(int group, int position, double logProb) {
        double[] rates = curve(groupOf(group), positionOf(position));
        double x = probability(logProb) * bins - 0.5; // in units of bin centres
        if (x <= 0) {
            return rates[0];
        }
        if (x >= bins - 1) {
            return rates[bins - 1];
        }
        int lo = (int) x;
        double t = x - lo;
        return rates[lo] * (1 - t) + rates[lo + 1] * t;
    }

    /**
     * Records one verified draft token's outcome (only tokens whose predecessors were accepted).
     */
    public void observe(int group, int position, double logProb, boolean wasAccepted) {
        int g = groupOf(group);
        int p = positionOf(position);
        int b = Math.min(bins - 1, (int) (probability(logProb) * bins));
        observed[g][p][b]++;
        if (wasAccepted) {
            accepted[g][p][b]++;
        }
        stale[g][p] = true;
    }

    private double[] curve(int g, int p) {
        if (stale[g][p]) {
            curve[g][p] = isotonic(g, p);
            stale[g][p] = false;
        }
        return curve[g][p];
    }

    /** Pool-adjacent-violators over the shrunk bin rates, weighted by their evidence. */
    private double[] isotonic(int g, int p) {
        double[] value = new double[bins];
        double[] weight = new double[bins];
        int[] width = new int[bins];
        int blocks = 0;
        for (int b = 0; b < bins; b++) {
            double centre = (b + 0.5) / bins;
            double w = observed[g][p][b] + prior;
            double v = w == 0 ? centre : (accepted[g][p][b] + prior * centre) / w;
            value[blocks] = v;
            weight[blocks] = w == 0 ? 1e-9 : w;
            width[blocks] = 1;
            blocks++;
            while (blocks > 1 && value[blocks - 2] > value[blocks - 1]) {
                double merged = weight[blocks - 2] + weight[blocks - 1];
                value[blocks - 2] =
                        (value[blocks - 2] * weight[blocks - 2]
                                        + value[blocks - 1] * weight[blocks - 1])
                                / merged;
                weight[blocks - 2] = merged;
                width[blocks - 2] += width[blocks - 1];
                blocks--;
            }
        }
        double[] rates = new double[bins];
        int b = 0;
        for (int k = 0; k < blocks; k++) {
            for (int j = 0; j < width[k]; j++) {
                rates[b++] = value[k];
            }
        }
        return rates;
    }

    private int groupOf(int group) {
        if (group < 0 || group >= groups) {
            throw new IllegalArgumentException(
                    "calibration group " + group + " outside [0, " + groups + ")");
        }
        return group;
    }

    private int positionOf(int position) {
        if (position < 0) {
            throw new IllegalArgumentException("draft position must be >= 0, was " + position);
        }
        return Math.min(position, positions - 1);
    }

    private static double probability(double logProb) {
        if (Double.isNaN(logProb)) {
            return 0;
        }
        return Math.min(1.0, Math.exp(logProb));
    }
}
