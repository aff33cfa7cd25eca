package io.tetris.policy;

import java.util.List;

/**
 * How well a policy's acceptance estimates matched outcomes, measured prequentially: each estimate
 * is scored against the outcome of the round it was made for, before that outcome trains the
 * predictor. Scored tokens are verified draft tokens whose predecessors were accepted.
 *
 * @param raw the raw draft probabilities as estimates
 * @param predicted the policy's estimates
 * @param survival the policy's estimate that a verified token is accepted, its predecessors
 *     included (the product of the estimates up to it, what TETRIS ranks by), against whether it
 *     was; over every verified token
 * @param byPosition {@code [position]} the policy's estimates per draft position (the last pools
 *     deeper ones)
 */
public record CalibrationReport(
        Score raw, Score predicted, Score survival, List<Score> byPosition) {

    public CalibrationReport {
        byPosition = List.copyOf(byPosition);
    }

    /**
     * @param observations scored tokens
     * @param auc area under the ROC curve of the estimates for "accepted"
     * @param ece expected calibration error (ten bins)
     * @param brier Brier score
     */
    public record Score(long observations, double auc, double ece, double brier) {}

    public long observations() {
        return predicted.observations();
    }

    /** The estimates' expected calibration error. */
    public double calibratedError() {
        return predicted.ece();
    }
}
