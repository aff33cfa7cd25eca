package io.tetris.bench;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.CalibrationReport;
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
 */
public record RunResult(
        double seconds,
        long outputTokens,
        SpeculationStats stats,
        Optional<CalibrationReport> calibration,
        int[][] outputs) {

    public double tokensPerSecond() {
        return seconds <= 0 ? 0 : outputTokens / seconds;
    }
}
