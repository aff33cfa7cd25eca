package io.tetris.job.bench;

import io.tetris.engine.StepCostProfile;
import io.tetris.measure.RunResult;
import io.tetris.measure.Trace;
import io.tetris.policy.CalibrationReport;
import io.tetris.policy.KneeStepCostModel;
import io.tetris.policy.PolicyConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One workload's rows, measured or simulated, and what its report says beside them.
 *
 * @param name the workload's name
 * @param rows one per batch and configuration
 * @param calibration tetris-adaptive's calibration, by batch
 * @param measured the measured runs the rows fold, or {@code null} when simulated
 * @param projected the same trace under the gpu-like cost model, or {@code null} when simulated
 * @param replayed the same trace under this machine's cost model, to check the simulator against
 *     the measured rows, or {@code null} when simulated
 */
public record WorkloadRows(
        String name,
        List<BenchRow> rows,
        Map<String, CalibrationReport> calibration,
        BenchSummary.Measured measured,
        List<BenchRow> projected,
        List<BenchRow> replayed) {

    /** The workload's trace replayed under the settings' simulation cost. */
    public static WorkloadRows simulated(
            String name,
            Trace trace,
            BenchSettings settings,
            PolicyConfig policies,
            StepCostProfile profile) {
        Map<String, CalibrationReport> calibration = new LinkedHashMap<>();
        List<BenchRow> rows =
                SimulatedMatrix.rows(
                        trace, settings, policies, settings.simulationCost(profile), calibration);
        return new WorkloadRows(name, rows, calibration, null, null, null);
    }

    /** The measured runs' rows, and the workload's trace replayed under two cost models. */
    public static WorkloadRows measured(
            BenchSummary.Measured measured,
            Trace trace,
            BenchSettings settings,
            PolicyConfig policies,
            StepCostProfile profile) {
        Map<String, CalibrationReport> calibration = new LinkedHashMap<>();
        List<BenchRow> rows = new ArrayList<>();
        for (int batch : settings.batchSizes()) {
            for (BenchConfig c : settings.matrix()) {
                List<RunResult> runs = measured.runs().get(BenchSummary.key(c, batch));
                rows.add(RunSummary.row(c, batch, runs));
                runs.get(0)
                        .calibration()
                        .filter(x -> c.kind() == PolicyConfig.Kind.TETRIS_ADAPTIVE)
                        .ifPresent(cal -> calibration.put("batch " + batch + " (measured)", cal));
            }
        }
        List<BenchRow> projected =
                SimulatedMatrix.rows(
                        trace,
                        settings,
                        policies,
                        KneeStepCostModel.GPU_LIKE,
                        new LinkedHashMap<>());
        List<BenchRow> replayed =
                SimulatedMatrix.rows(
                        trace, settings, policies, profile.model(), new LinkedHashMap<>());
        return new WorkloadRows(measured.name(), rows, calibration, measured, projected, replayed);
    }
}
