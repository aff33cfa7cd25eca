package io.tetris.model;

/**
 * What one forward pass says about the next token after each returned position of one extension. A
 * greedy extension needs only the most likely token and its log-probability, so its
 * vocabulary-sized rows never leave the model's memory ({@code logProbs} is null); every other
 * extension gets its full rows.
 *
 * @param logProbs {@code [returned][vocab]} natural-log probabilities, or null when reduced
 * @param argmax {@code [returned]} the most likely next token (the lowest id among equals)
 * @param argmaxLogProb {@code [returned]} its natural-log probability
 * @param runnerUpLogProb {@code [returned]} the natural-log probability of the second most likely
 *     token: with the argmax's, how sure the model is (a cheap margin for greedy positions, whose
 *     rows stay in the model)
 */
public record NextTokens(
        float[][] logProbs, int[] argmax, float[] argmaxLogProb, float[] runnerUpLogProb) {

    /** Nothing returned (an extension without new tokens). */
    public static final NextTokens NONE =
            new NextTokens(new float[0][], new int[0], new float[0], new float[0]);

    /** Full rows, with the argmax read off them. */
    public static NextTokens full(float[][] logProbs) {
        int[] argmax = new int[logProbs.length];
        float[] best = new float[logProbs.length];
        float[] second = new float[logProbs.length];
        for (int j = 0; j < logProbs.length; j++) {
            argmax[j] = io.tetris.core.LogitsTransform.argmax(logProbs[j]);
            best[j] = logProbs[j][argmax[j]];
            second[j] = runnerUp(logProbs[j], argmax[j]);
        }
        return new NextTokens(logProbs, argmax, best, second);
    }

    /** The largest value of {@code row} but the one at {@code argmax}; -infinity if none. */
    public static float runnerUp(float[] row, int argmax) {
        float second = Float.NEGATIVE_INFINITY;
        for (int v = 0; v < row.length; v++) {
            if (v != argmax && row[v] > second) {
                second = row[v];
            }
        }
        return second;
    }

    /** Positions returned. */
    public int positions() {
        return argmax.length;
    }

    /** Whether the full rows were left in the model's memory. */
    public boolean reduced() {
        return logProbs == null;
    }
}
