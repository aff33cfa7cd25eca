package io.tetris.job.bench;

import io.tetris.measure.RunResult;
import io.tetris.measure.Simulator;
import io.tetris.measure.Trace;
import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.CalibrationReport;
import io.tetris.policy.PolicyConfig;
import io.tetris.policy.StepCostModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Every configuration of the matrix at every batch, replayed from a trace under a cost model. */
public final class SimulatedMatrix {

    private SimulatedMatrix() {}

    /**
     * One row per batch and configuration.
     *
     * @param calibration receives tetris-adaptive's calibration at each batch
     */
    public static List<BenchRow> rows(
            Trace trace,
            BenchSettings settings,
            PolicyConfig policies,
            StepCostModel cost,
            Map<String, CalibrationReport> calibration) {
        List<BenchRow> rows = new ArrayList<>();
        for (int batch : settings.batchSizes()) {
            Trace t =
                    new Trace(
                            trace.maxDraft(),
                            trace.sequences()
                                    .subList(
                                            0,
                                            Math.min(
                                                    trace.sequences().size(),
                                                    BenchSettings.requestsFor(batch))));
            for (BenchConfig c : settings.matrix()) {
                BudgetPolicy policy = c.create(policies, cost);
                if (policy.learned().length > 0) {
                    // As in measured runs: a learning policy starts from a run of its own.
                    Simulator.run(t, batch, policy, cost);
                    BudgetPolicy next = c.create(policies, cost);
                    next.restore(policy.learned());
                    policy = next;
                }
                RunResult r = Simulator.run(t, batch, policy, cost);
                r.calibration()
                        .ifPresent(cal -> calibration.put("batch " + batch + " (simulated)", cal));
                rows.add(RunSummary.row(c, batch, List.of(r)));
            }
        }
        return rows;
    }
}
