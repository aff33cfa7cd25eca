package io.tetris.engine;

/**
 * A round's draft proposals.
 *
 * @param tokens {@code [batch][drafted_i]} proposed tokens
 * @param probs {@code [batch][drafted_i][vocab]} the (transformed) draft distributions they were
 *     sampled from; rows are null for greedy sequences, which need no distributions
 * @param logProbs {@code [batch][drafted_i]} the draft's confidence in each token, what TETRIS
 *     ranks by: log q of the token under the sampling distribution, or under the untempered
 *     distribution for greedy sequences (whose sampling distribution is one-hot)
 * @param margins {@code [batch][drafted_i]} how clearly the draft chose each token: its most likely
 *     token's lead over the runner-up, or on a coupled sampled row the drawn token's lead in the
 *     noise race ({@link io.tetris.core.CoupledSampling#draw}), in nats (NaN where not known): a
 *     greedy row's other confidence signal, since its distribution stays in the model
 */
public record Drafts(int[][] tokens, float[][][] probs, double[][] logProbs, double[][] margins) {

    /** Drafts without margins (a replayed trace, tests). */
    public Drafts(int[][] tokens, float[][][] probs, double[][] logProbs) {
        this(tokens, probs, logProbs, nan(logProbs));
    }

    private static double[][] nan(double[][] shape) {
        double[][] out = new double[shape.length][];
        for (int i = 0; i < shape.length; i++) {
            out[i] = new double[shape[i].length];
            java.util.Arrays.fill(out[i], Double.NaN);
        }
        return out;
    }
}
