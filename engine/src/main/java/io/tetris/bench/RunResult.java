package io.tetris.bench;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.CalibrationReport;
import io.tetris.core.policy.StepCostFit;
import java.util.List;
import java.util.Optional;

/**
 * One benchmark run (measured or simulated).
 *
 * @param seconds wall time (or predicted time) from the first round to the last
 * @param outputTokens tokens generated, end-of-text excluded
 * @param stats the run's speculation counters
 * @param calibration the policy's calibration, if it keeps acceptance estimates
 * @param outputs {@code [request][generated]} token ids per request in workload order, end-of-text
 *     included where a request ended on it; null for simulated runs
 * @param draftSamples per-step draft times of the run's rounds (empty when simulated)
 * @param verifySamples verification-pass times of the run's rounds (empty when simulated)
 */
public record RunResult(
        double seconds,
        long outputTokens,
        SpeculationStats stats,
        Optional<CalibrationReport> calibration,
        int[][] outputs,
        List<StepCostFit.Sample> draftSamples,
        List<StepCostFit.Sample> verifySamples) {

    public double tokensPerSecond() {
        return seconds <= 0 ? 0 : outputTokens / seconds;
    }
}
