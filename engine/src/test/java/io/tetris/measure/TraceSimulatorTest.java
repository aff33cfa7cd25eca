package io.tetris.measure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.core.SpeculationStats;
import io.tetris.engine.CachedModel;
import io.tetris.model.BundledModels;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.policy.LinearStepCostModel;
import io.tetris.policy.PolicyConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulator's promise: replaying a recorded trace reproduces, for any policy, exactly the
 * rounds and speculation counters a real run of the models has.
 */
class TraceSimulatorTest {

    private static BenchModels models;
    private static Workload workload;
    private static RunResult reference;
    private static Trace trace;

    @BeforeAll
    static void record() throws Exception {
        models =
                new BenchModels(
                        new CachedModel(BundledModels.load(BundledModels.draft())),
                        new CachedModel(BundledModels.load(BundledModels.target())),
                        HuggingFaceTextTokenizer.load(BundledModels.tokenizer()),
                        BundledModels.CONTEXT);
        List<String> prompts =
                Workload.readPrompts(BundledModels.dir().resolve("bench_prompts.txt"));
        workload = Workload.of(prompts, models.tokenizer(), 6, 14, 42);
        reference = new BenchLoop(models).run(workload, 3, policy(PolicyConfig.Kind.FIXED, 3, 0));
        trace = new TraceRecorder(models).record(workload, reference.outputs(), 6, null);
    }

    @AfterAll
    static void close() throws Exception {
        models.close();
    }

    private static io.tetris.policy.BudgetPolicy policy(PolicyConfig.Kind kind, int k, int extra) {
        return PolicyConfig.defaults()
                .withPolicy(kind)
                .withWindow(k, extra)
                .create(LinearStepCostModel.DEFAULT);
    }

    @Test
    void workloadIsHalfGreedyHalfSampledWithFixedSeeds() {
        assertThat(workload.requests()).hasSize(6);
        assertThat(workload.requests().get(0).params().greedy()).isTrue();
        assertThat(workload.requests().get(1).params().greedy()).isFalse();
        assertThat(workload.requests().get(1).seed()).isEqualTo(43);
        assertThat(trace.outputTokens()).isEqualTo(reference.outputTokens());
    }

    @Test
    void replayReproducesRealRunsCounterForCounter() {
        for (var c :
                List.of(
                        new Object[] {PolicyConfig.Kind.FIXED, 2, 0},
                        new Object[] {PolicyConfig.Kind.TETRIS, 2, 2},
                        new Object[] {PolicyConfig.Kind.NONE, 1, 0})) {
            PolicyConfig.Kind kind = (PolicyConfig.Kind) c[0];
            int k = (int) c[1];
            int extra = (int) c[2];
            RunResult real = new BenchLoop(models).run(workload, 3, policy(kind, k, extra));
            RunResult simulated =
                    Simulator.run(trace, 3, policy(kind, k, extra), LinearStepCostModel.DEFAULT);
            assertThat(real.outputs()).isDeepEqualTo(reference.outputs());
            SpeculationStats r = real.stats();
            SpeculationStats s = simulated.stats();
            assertThat(s.rounds()).as("%s rounds", kind).isEqualTo(r.rounds());
            assertThat(s.draftTokens()).as("%s drafted", kind).isEqualTo(r.draftTokens());
            assertThat(s.verifiedDraftTokens()).isEqualTo(r.verifiedDraftTokens());
            assertThat(s.acceptedTokens()).isEqualTo(r.acceptedTokens());
            assertThat(simulated.outputTokens()).isEqualTo(real.outputTokens());
            assertThat(simulated.seconds()).isPositive();
            assertThat(real.verifySamples()).hasSize((int) r.rounds());
        }
    }

    @Test
    void aCheaperCostModelProjectsMoreTokensPerSecond() {
        var slow = new LinearStepCostModel(1e-3, 0, 0, 1e-2, 1e-4, 0);
        var fast = new LinearStepCostModel(1e-4, 0, 0, 1e-3, 1e-5, 0);
        double a =
                Simulator.run(trace, 3, policy(PolicyConfig.Kind.FIXED, 3, 0), slow)
                        .tokensPerSecond();
        double b =
                Simulator.run(trace, 3, policy(PolicyConfig.Kind.FIXED, 3, 0), fast)
                        .tokensPerSecond();
        assertThat(b).isGreaterThan(5 * a);
    }

    @Test
    void traceSurvivesSaveAndLoadAndAMalformedOneNamesTheLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("trace.txt");
        trace.save(file);
        Trace loaded = Trace.load(file);
        assertThat(loaded.sequences()).hasSameSizeAs(trace.sequences());
        RunResult again =
                Simulator.run(
                        loaded,
                        3,
                        policy(PolicyConfig.Kind.TETRIS, 2, 1),
                        LinearStepCostModel.DEFAULT);
        RunResult original =
                Simulator.run(
                        trace,
                        3,
                        policy(PolicyConfig.Kind.TETRIS, 2, 1),
                        LinearStepCostModel.DEFAULT);
        assertThat(again.stats().acceptedTokens()).isEqualTo(original.stats().acceptedTokens());
        assertThat(again.stats().verifiedDraftTokens())
                .isEqualTo(original.stats().verifiedDraftTokens());

        List<String> lines = Files.readAllLines(file);
        lines.set(4, "w x 0.1");
        Files.write(file, lines);
        assertThatThrownBy(() -> Trace.load(file)).hasMessageContaining(":5:");
    }
}
