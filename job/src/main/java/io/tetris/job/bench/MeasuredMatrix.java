package io.tetris.job.bench;

import io.tetris.measure.BenchLoop;
import io.tetris.measure.RunResult;
import io.tetris.measure.Workload;
import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.PolicyConfig;
import io.tetris.policy.StepCostModel;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The measured runs: every configuration of the matrix at every batch on every workload, repeated,
 * each checked against its workload's reference output.
 */
public final class MeasuredMatrix {

    private final BenchSettings settings;
    private final PolicyConfig policies;
    private final BenchLoop loop;
    private final CarriedLearning learning;
    private final PrintStream log;

    private int total;
    private int done;
    private long start;

    public MeasuredMatrix(
            BenchSettings settings,
            PolicyConfig policies,
            BenchLoop loop,
            CarriedLearning learning,
            PrintStream log) {
        this.settings = settings;
        this.policies = policies;
        this.loop = loop;
        this.learning = learning;
        this.log = log;
    }

    /**
     * Runs the matrix.
     *
     * @param references each workload's reference run, by name: what every policy must emit
     * @param cost the cost model a policy that does not carry over starts from
     */
    public List<BenchSummary.Measured> run(
            List<Workload> workloads, Map<String, RunResult> references, StepCostModel cost) {
        Map<String, Map<String, List<RunResult>>> results = new LinkedHashMap<>();
        for (Workload w : workloads) {
            results.put(w.name(), new LinkedHashMap<>());
        }
        List<BenchConfig> matrix = settings.matrix();
        total =
                settings.repeats()
                        * workloads.size()
                        * settings.batchSizes().size()
                        * matrix.size();
        done = 0;
        start = System.nanoTime();
        // Repeats are the outer loop so a slow phase of the machine hits every configuration alike.
        for (int run = 0; run < settings.repeats(); run++) {
            for (Workload workload : workloads) {
                for (int batch : settings.batchSizes()) {
                    Workload w = workload.first(BenchSettings.requestsFor(batch));
                    for (BenchConfig c : matrix) {
                        RunResult r = runOne(w, batch, c, cost);
                        checkLossless(references.get(workload.name()), r, c, batch);
                        results.get(workload.name())
                                .computeIfAbsent(BenchSummary.key(c, batch), x -> new ArrayList<>())
                                .add(r);
                        progress(run, workload, batch, c, r);
                    }
                }
            }
        }
        List<BenchSummary.Measured> out = new ArrayList<>();
        results.forEach((name, m) -> out.add(new BenchSummary.Measured(name, m)));
        return out;
    }

    private RunResult runOne(Workload w, int batch, BenchConfig c, StepCostModel cost) {
        // A long-running replica has learned the machine and the models when new requests arrive:
        // a policy that learns carries over what its previous run learned.
        BudgetPolicy policy = learning.continued(c, c.create(policies, cost));
        learning.remember(c, policy);
        return loop.run(w, batch, policy, learning.costModel());
    }

    private void progress(int run, Workload workload, int batch, BenchConfig c, RunResult r) {
        done++;
        double elapsed = (System.nanoTime() - start) / 1e9;
        log.printf(
                Locale.ROOT,
                "[%d/%d] run %d, %s, batch %d, %-18s %7.1f tokens/s  VSR %.3f  (eta %.0f s)%n",
                done,
                total,
                run + 1,
                workload.name(),
                batch,
                c.label(),
                r.tokensPerSecond(),
                r.stats().acceptanceRate(),
                elapsed / done * (total - done));
    }

    /** Greedy and coupled sampling are schedule-independent: every policy must emit the same. */
    private static void checkLossless(
            RunResult reference, RunResult run, BenchConfig c, int batch) {
        int[][] a = reference.outputs();
        int[][] b = run.outputs();
        for (int i = 0; i < b.length; i++) {
            if (!Arrays.equals(a[i], b[i])) {
                throw new IllegalStateException(
                        "request "
                                + i
                                + " generated different tokens under "
                                + c.label()
                                + " at batch "
                                + batch
                                + " than under fixed k=3: verification is not lossless");
            }
        }
    }
}
