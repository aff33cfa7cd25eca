package io.tetris.job.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.measure.RunResult;
import io.tetris.policy.PolicyConfig;
import java.util.List;

/** The bench's rows as the JSON objects {@code tetris bench --json} prints under "configs". */
final class BenchJson {

    private BenchJson() {}

    /**
     * Adds one object per row to {@code configs}.
     *
     * @param measured the runs behind the rows, for each repeat's throughput and the learners'
     *     quality; {@code null} for simulated rows
     */
    static void add(
            ArrayNode configs,
            String workload,
            List<BenchRow> rows,
            BenchSummary.Measured measured) {
        for (BenchRow r : rows) {
            ObjectNode o = configs.addObject();
            o.put("workload", workload);
            o.put("policy", r.policy());
            o.put("k", r.k());
            o.put("extra", r.extra());
            o.put("batch", r.batch());
            o.put("tokens_per_second", r.tokensPerSecond());
            o.put("tokens_per_second_min", r.tokensPerSecondMin());
            o.put("tokens_per_second_max", r.tokensPerSecondMax());
            o.put("repeats", r.repeats());
            o.put("verification_success_rate", r.verificationSuccessRate());
            o.put("mean_acceptance_length", r.meanAcceptanceLength());
            o.put("tokens_per_target_pass", r.tokensPerTargetPass());
            o.put("budget_utilisation", r.budgetUtilisation());
            if (measured != null) {
                addRuns(o, r, measured);
            }
        }
    }

    private static void addRuns(ObjectNode o, BenchRow r, BenchSummary.Measured measured) {
        BenchConfig c = new BenchConfig(PolicyConfig.Kind.parse(r.policy()), r.k(), r.extra());
        List<RunResult> runs = measured.runs().get(BenchSummary.key(c, r.batch()));
        ArrayNode each = o.putArray("tokens_per_second_runs");
        runs.forEach(x -> each.add(x.tokensPerSecond()));
        runs.get(0)
                .calibration()
                .ifPresent(
                        cal -> {
                            ObjectNode p = o.putObject("predictor");
                            p.put("scored", cal.predicted().observations());
                            p.put("auc", cal.predicted().auc());
                            p.put("ece", cal.predicted().ece());
                            p.put("brier", cal.predicted().brier());
                        });
        runs.get(0)
                .cost()
                .ifPresent(
                        cost ->
                                o.put(
                                        "cost_model_median_relative_error",
                                        cost.medianRelativeError()));
    }
}
