package io.tetris.core.policy;

/**
 * Calibration of acceptance estimates, measured prequentially: each estimate is scored against the
 * outcome of the round it was made for, before that outcome updates the calibrator.
 *
 * @param observations verified draft tokens scored (those whose predecessors were accepted)
 * @param rawError expected calibration error of the raw draft probabilities
 * @param calibratedError expected calibration error of the calibrated estimates
 * @param rawBrier Brier score of the raw draft probabilities
 * @param calibratedBrier Brier score of the calibrated estimates
 */
public record CalibrationReport(
        long observations,
        double rawError,
        double calibratedError,
        double rawBrier,
        double calibratedBrier) {}
