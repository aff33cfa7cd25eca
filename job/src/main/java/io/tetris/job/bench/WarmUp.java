package io.tetris.job.bench;

import io.tetris.engine.StepCostProfile;
import io.tetris.engine.StepCostProfiler;
import io.tetris.measure.BenchLoop;
import io.tetris.measure.BenchModels;
import io.tetris.measure.RunResult;
import io.tetris.measure.Workload;
import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.PolicyConfig;
import io.tetris.policy.StepCostFit;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Before the measured runs: the start-up profile (or a saved one), warm-up runs for the JIT, and
 * the cost model fitted to the warm-up's rounds.
 */
public final class WarmUp {

    /**
     * @param profile the cost profile the measured runs plan with
     * @param learning what the warm-up learned, for the measured runs to carry on
     */
    public record Outcome(StepCostProfile profile, CarriedLearning learning) {}

    private final BenchSettings settings;
    private final PolicyConfig policies;
    private final BenchModels bench;
    private final BenchLoop loop;
    private final PrintStream log;

    public WarmUp(
            BenchSettings settings,
            PolicyConfig policies,
            BenchModels bench,
            BenchLoop loop,
            PrintStream log) {
        this.settings = settings;
        this.policies = policies;
        this.bench = bench;
        this.loop = loop;
        this.log = log;
    }

    /**
     * Profiles and warms up on {@code workload}; with no workload (a trace replayed under the
     * measured cost), profiles only.
     */
    public Outcome run(Workload workload) {
        StepCostProfile startup = startupProfile();
        CarriedLearning learning = new CarriedLearning(startup.model());
        if (workload == null) {
            return new Outcome(startup, learning);
        }
        // Warm-up runs (JIT) at every batch with a short and a long window; their rounds are the
        // cost samples that matter, since they include everything a round does.
        log.println("warm-up runs (JIT, and round timings for the cost model) ...");
        List<StepCostFit.Sample> draftSamples = new ArrayList<>();
        List<StepCostFit.Sample> verifySamples = new ArrayList<>();
        for (int batch : settings.batchSizes()) {
            for (int k : new int[] {1, 6}) {
                BenchConfig c = new BenchConfig(PolicyConfig.Kind.FIXED, k, 0);
                RunResult r =
                        loop.run(
                                workload.first(BenchSettings.requestsFor(batch)),
                                batch,
                                c.create(policies, startup.model()),
                                learning.costModel());
                draftSamples.addAll(r.draftSamples());
                verifySamples.addAll(r.verifySamples());
            }
        }
        warmUpAdaptive(workload, learning);
        if (settings.costProfile() != null) {
            return new Outcome(startup, learning);
        }
        // The warm-up's passes are uniform: what padding costs comes from the start-up profile.
        return new Outcome(fitted(draftSamples, verifySamples, startup.paddedSeconds()), learning);
    }

    /**
     * tetris-adaptive at every batch: its learned state (costs, acceptance, when to explore) then
     * starts the measured runs as a replica that has been serving would.
     */
    private void warmUpAdaptive(Workload workload, CarriedLearning learning) {
        for (int batch : settings.batchSizes()) {
            BenchConfig c =
                    new BenchConfig(
                            PolicyConfig.Kind.TETRIS_ADAPTIVE, 0, BenchConfig.ADAPTIVE_EXTRA);
            BudgetPolicy policy =
                    learning.continued(c, c.create(policies, learning.costModel().copy()));
            loop.run(
                    workload.first(BenchSettings.requestsFor(batch)),
                    batch,
                    policy,
                    learning.costModel());
            learning.remember(c, policy);
        }
    }

    private StepCostProfile fitted(
            List<StepCostFit.Sample> draftSamples,
            List<StepCostFit.Sample> verifySamples,
            double paddedSeconds) {
        StepCostProfile profile =
                new StepCostProfile(
                        draftSamples,
                        verifySamples,
                        settings.fit(draftSamples),
                        settings.fit(verifySamples),
                        StepCostProfiler.machine(),
                        paddedSeconds);
        profile.save(settings.output().resolve("cost-profile.txt"));
        log.println("cost model fitted to the warm-up rounds:\n" + profile.summary());
        return profile;
    }

    private StepCostProfile startupProfile() {
        if (settings.costProfile() != null) {
            StepCostProfile loaded = StepCostProfile.load(settings.costProfile());
            log.println("cost profile from " + settings.costProfile() + ":\n" + loaded.summary());
            return loaded;
        }
        log.println("profiling draft steps and verification passes on this machine ...");
        StepCostProfile profile =
                new StepCostProfiler(bench.draft(), bench.target(), 256)
                        .profile(
                                settings.quick()
                                        ? StepCostProfiler.Grid.quick()
                                        : StepCostProfiler.Grid.standard(),
                                line -> log.println("  " + line));
        profile.save(settings.output().resolve("startup-profile.txt"));
        log.println(profile.summary());
        return profile;
    }
}
