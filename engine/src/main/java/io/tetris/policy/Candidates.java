package io.tetris.policy;

/**
 * A round's drafted tokens as a policy sees them when it allocates verification.
 *
 * @param ids {@code [batch]} request ids, stable across a request's rounds
 * @param tokens {@code [batch][drafted_i]} the proposed token ids (zeros where unknown, as in a
 *     replayed trace)
 * @param logProbs {@code [batch][drafted_i]} draft log-probabilities of the proposed tokens
 * @param distributions {@code [batch][drafted_i][vocab]} the draft distribution each token was
 *     sampled from; a row or entry is null where none was computed (greedy rows, whose logits are
 *     reduced to the top token inside the model)
 * @param groups {@code [batch]} calibration group: 0 greedy, 1 sampled
 * @param weights {@code [batch]} priority weights, each above 0
 * @param margins {@code [batch][drafted_i]} how clearly the draft chose each token, in nats: its
 *     most likely token's lead over the runner-up, or on a coupled sampled row the drawn token's
 *     lead in the noise race (NaN where not known), or null rows
 * @param lastTokens {@code [batch]} each request's last committed token, the one before its first
 *     draft ({@link #UNKNOWN} where not known)
 */
public record Candidates(
        String[] ids,
        int[][] tokens,
        double[][] logProbs,
        float[][][] distributions,
        int[] groups,
        double[] weights,
        double[][] margins,
        int[] lastTokens) {

    /** A token id that is not known. */
    public static final int UNKNOWN = -1;

    public Candidates {
        int n = logProbs.length;
        if (ids.length != n
                || tokens.length != n
                || distributions.length != n
                || groups.length != n
                || weights.length != n
                || margins.length != n
                || lastTokens.length != n) {
            throw new IllegalArgumentException("candidates need one id, group and weight per row");
        }
    }

    /** Candidates whose last committed tokens are not known. */
    public Candidates(
            String[] ids,
            int[][] tokens,
            double[][] logProbs,
            float[][][] distributions,
            int[] groups,
            double[] weights,
            double[][] margins) {
        this(ids, tokens, logProbs, distributions, groups, weights, margins, unknown(ids.length));
    }

    /** Candidates whose margins are not known. */
    public Candidates(
            String[] ids,
            int[][] tokens,
            double[][] logProbs,
            float[][][] distributions,
            int[] groups,
            double[] weights) {
        this(ids, tokens, logProbs, distributions, groups, weights, new double[logProbs.length][]);
    }

    /**
     * The token before draft token {@code j} of row {@code i}; {@link #UNKNOWN} where not known.
     */
    public int previous(int i, int j) {
        return j == 0 ? lastTokens[i] : tokens[i][j - 1];
    }

    private static int[] unknown(int n) {
        int[] tokens = new int[n];
        java.util.Arrays.fill(tokens, UNKNOWN);
        return tokens;
    }

    /**
     * How clearly the draft chose token {@code j} of row {@code i} (see {@link #margins}), in nats;
     * NaN where not known.
     */
    public double margin(int i, int j) {
        double[] row = margins[i];
        return row == null || j >= row.length ? Double.NaN : row[j];
    }

    /** Anonymous candidates (row numbers as ids, no token ids or distributions). */
    public static Candidates of(double[][] logProbs, double[] weights, int[] groups) {
        String[] ids = new String[logProbs.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Integer.toString(i);
        }
        int[][] tokens = new int[logProbs.length][];
        for (int i = 0; i < ids.length; i++) {
            tokens[i] = new int[logProbs[i].length];
        }
        return new Candidates(
                ids, tokens, logProbs, new float[logProbs.length][][], groups, weights);
    }

    /** Candidates of the given requests, equal weights, no token ids or distributions. */
    public static Candidates of(String[] ids, double[][] logProbs, int[] groups) {
        double[] weights = new double[ids.length];
        java.util.Arrays.fill(weights, 1);
        Candidates anonymous = of(logProbs, weights, groups);
        return new Candidates(
                ids, anonymous.tokens(), logProbs, anonymous.distributions(), groups, weights);
    }

    /**
     * Entropy in nats of the draft distribution token {@code j} of row {@code i} was sampled from;
     * NaN where none was computed. Computed on demand: only policies that use it pay for a pass
     * over the vocabulary.
     */
    public double entropy(int i, int j) {
        float[][] row = distributions[i];
        if (row == null || j >= row.length || row[j] == null) {
            return Double.NaN;
        }
        double h = 0;
        for (float q : row[j]) {
            if (q > 0) {
                h -= q * Math.log(q);
            }
        }
        return h;
    }

    public int size() {
        return logProbs.length;
    }
}
