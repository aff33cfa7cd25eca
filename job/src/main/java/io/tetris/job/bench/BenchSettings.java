package io.tetris.job.bench;

import io.tetris.engine.StepCostProfile;
import io.tetris.measure.Workload;
import io.tetris.policy.KneeStepCostModel;
import io.tetris.policy.StepCostFit;
import io.tetris.policy.StepCostModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What one {@code tetris bench} runs, with the command line's defaults already applied.
 *
 * @param quick the reduced matrix and profiling grid
 * @param simulate replay a trace under {@code simCost} instead of measuring
 * @param simCost the cost model of a simulation, as given on the command line
 * @param costFit how the cost model is fitted to the warm-up rounds: absolute or relative
 * @param costProfile a saved cost profile to use instead of profiling, or {@code null}
 * @param output where results go
 * @param batchSizes the running-batch sizes
 * @param repeats measured runs per configuration
 * @param maxNewTokens tokens per request
 * @param workloads the workloads' names
 * @param policies the configurations to run, or empty for the whole matrix
 */
public record BenchSettings(
        boolean quick,
        boolean simulate,
        String simCost,
        String costFit,
        Path costProfile,
        Path output,
        List<Integer> batchSizes,
        int repeats,
        int maxNewTokens,
        List<String> workloads,
        List<BenchConfig> policies) {

    /** Refuses bad settings before minutes of profiling, not after. */
    public BenchSettings {
        if (!List.of("absolute", "relative").contains(costFit)) {
            throw new IllegalArgumentException(
                    "--cost-fit must be absolute or relative, got '" + costFit + "'");
        }
        for (String w : workloads) {
            if (!List.of(Workload.HELD_OUT, Workload.MIXED).contains(w)) {
                throw new IllegalArgumentException(
                        "--workloads takes held-out and mixed, got '" + w + "'");
            }
        }
        batchSizes = List.copyOf(batchSizes);
        workloads = List.copyOf(workloads);
        policies = List.copyOf(policies);
        if (policies.stream().map(BenchConfig::label).distinct().count() != policies.size()) {
            throw new IllegalArgumentException("--policies names a configuration twice");
        }
    }

    /**
     * Requests a run at {@code batch} serves: twice the batch, so that sequences finish and are
     * replaced while it runs, and at least 8.
     */
    public static int requestsFor(int batch) {
        return Math.max(8, 2 * batch);
    }

    public int largestBatch() {
        return batchSizes.stream().mapToInt(Integer::intValue).max().orElseThrow();
    }

    /** The configurations each workload and batch runs, in order. */
    public List<BenchConfig> matrix() {
        return policies.isEmpty() ? BenchConfig.matrix(quick) : policies;
    }

    /** The reports' title: the command as run. */
    public String title() {
        return "tetris bench"
                + (quick ? " --quick" : "")
                + (simulate ? " --simulate (" + simCost + ")" : "")
                + (policies.isEmpty()
                        ? ""
                        : " --policies "
                                + String.join(
                                        ",", policies.stream().map(BenchConfig::label).toList()));
    }

    /** The step-cost model {@link #simCost} names; {@code measured} is this machine's profile. */
    public StepCostModel simulationCost(StepCostProfile profile) {
        if (simCost.equals("gpu-like")) {
            return KneeStepCostModel.GPU_LIKE;
        }
        if (simCost.equals("paper-405b")) {
            return KneeStepCostModel.PAPER_405B;
        }
        if (simCost.equals("measured")) {
            return profile.model();
        }
        if (simCost.startsWith("knee:")) {
            double[] c =
                    Arrays.stream(simCost.substring(5).split(","))
                            .mapToDouble(Double::parseDouble)
                            .toArray();
            if (c.length != 6) {
                throw new IllegalArgumentException(
                        "--sim-cost knee: needs six numbers, got " + c.length);
            }
            return new KneeStepCostModel(c[0], (int) c[1], c[2], (int) c[3], c[4], c[5]);
        }
        throw new IllegalArgumentException(
                "--sim-cost must be gpu-like, paper-405b, measured or knee:..., got '"
                        + simCost
                        + "'");
    }

    /** Fits a step's cost to timed rounds, as {@link #costFit} says. */
    public StepCostFit.Linear fit(List<StepCostFit.Sample> samples) {
        return costFit.equals("relative")
                ? StepCostFit.fitRelative(samples)
                : StepCostFit.fit(samples);
    }
}
