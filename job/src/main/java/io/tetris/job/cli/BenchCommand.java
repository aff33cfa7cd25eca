package io.tetris.job.cli;

import io.tetris.engine.StepCostProfile;
import io.tetris.job.bench.BenchConfig;
import io.tetris.job.bench.BenchResultsWriter;
import io.tetris.job.bench.BenchSettings;
import io.tetris.job.bench.BenchSummary;
import io.tetris.job.bench.MeasuredMatrix;
import io.tetris.job.bench.SimulatedMatrix;
import io.tetris.job.bench.WarmUp;
import io.tetris.job.bench.WorkloadRows;
import io.tetris.measure.BenchLoop;
import io.tetris.measure.BenchModels;
import io.tetris.measure.RunResult;
import io.tetris.measure.Trace;
import io.tetris.measure.TraceRecorder;
import io.tetris.measure.Workload;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.policy.PolicyConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Every policy side by side on one fixed workload and the same models, in one process: measured
 * throughput and speculation counters, a measured step-cost model, a recorded trace, and
 * projections of the same trace under other cost models.
 */
@Command(
        name = "bench",
        subcommands = ServeBenchCommand.class,
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark: runs one fixed workload (held-out prompts, half greedy, half sampled with"
                    + " fixed seeds) through none, fixed k=1..6, dsd, tetris k=1..6 x extra=1..3"
                    + " and tetris-adaptive at running batches 1, 8, 32 and 64, repeated; writes"
                    + " results.md, results.csv and PNG plots, a measured cost profile and a trace.",
            "With --simulate it replays a trace under a cost model instead (no model runs but one"
                    + " to record the trace), to project accelerator-scale throughput."
        })
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "A reduced matrix that finishes in under 2 minutes.")
    boolean quick;

    @Option(
            names = "--policies",
            split = ",",
            paramLabel = "P",
            description =
                    "Run only these configurations, each as none, fixed:K, dsd, tetris:K:EXTRA or"
                            + " tetris-adaptive (default: the whole matrix, reduced by --quick).")
    List<String> policies;

    @Option(names = "--json", description = "Print one JSON object with every configuration last.")
    boolean json;

    @Option(
            names = "--simulate",
            description =
                    "Replay a trace (--trace, or one recorded now) under --sim-cost instead of"
                            + " measuring.")
    boolean simulate;

    @Option(
            names = "--sim-cost",
            paramLabel = "MODEL",
            description =
                    "Cost model of --simulate: gpu-like (a 70B target over 4 H100: flat to a"
                            + " token knee, then linear), paper-405b (the TETRIS paper's 405B FP8"
                            + " target over 8 H100), measured (this machine's profile), or"
                            + " knee:DRAFT_S,DRAFT_KNEE,VERIFY_S,VERIFY_KNEE,PER_TOKEN_S,PER_CONTEXT_S"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "gpu-like")
    String simCost;

    @Option(
            names = "--trace",
            paramLabel = "FILE",
            description = "A trace saved by an earlier bench to replay with --simulate.")
    Path traceFile;

    @Option(
            names = "--cost-profile",
            paramLabel = "FILE",
            description = "Use a saved cost profile instead of profiling this machine first.")
    Path costProfile;

    @Option(
            names = "--cost-fit",
            paramLabel = "KIND",
            description =
                    "How the cost model is fitted to the warm-up rounds: absolute (least squares;"
                            + " large rounds dominate, as they do the run time) or relative (least"
                            + " squares of relative error; small rounds fit as well as large)"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "absolute")
    String costFit;

    @Option(
            names = "--output",
            paramLabel = "DIR",
            description = "Where results go (default: ${DEFAULT-VALUE}).",
            defaultValue = "bench-results")
    Path output;

    @Option(
            names = "--batches",
            split = ",",
            description = "Running-batch sizes (default: 1,8,32,64; --quick: 8,32).")
    List<Integer> batches;

    @Option(
            names = "--repeats",
            description = "Measured runs per configuration, interleaved (default: 3).")
    Integer repeats;

    @Option(
            names = "--max-new-tokens",
            description = "Tokens per request (default: 48; --quick: 24).")
    Integer maxNewTokens;

    @Option(
            names = "--prompts",
            paramLabel = "FILE",
            description = "Prompt file, one per line (default: models/bench_prompts.txt).")
    Path prompts;

    @Option(
            names = "--easy-prompts",
            paramLabel = "FILE",
            description =
                    "Formulaic prompts for the mixed workload's easy half, one per line (default:"
                            + " bench_prompts_easy.txt in the models folder).")
    Path easyPrompts;

    @Option(
            names = "--workloads",
            split = ",",
            description =
                    "Workloads to run: held-out (prompts the models never saw) and mixed (half"
                            + " held-out, half formulaic) (default: ${DEFAULT-VALUE}).",
            defaultValue = "held-out,mixed")
    List<String> workloadNames;

    @Mixin ModelsOption models = new ModelsOption();

    private final PrintStream log = System.err;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        BenchSettings settings = settings();
        Path dir = models.dir();
        TetrisConfig config = config();
        List<String> heldOut =
                Workload.readPrompts(prompts != null ? prompts : dir.resolve("bench_prompts.txt"));
        Files.createDirectories(output);
        try (BenchModels bench = load(config)) {
            Trace given = simulate && traceFile != null ? Trace.load(traceFile) : null;
            List<Workload> workloads =
                    given == null ? workloads(settings, heldOut, dir, bench) : List.of();
            BenchLoop loop = new BenchLoop(bench);
            WarmUp.Outcome warm =
                    given == null || simCost.equals("measured")
                            ? new WarmUp(settings, config.policy(), bench, loop, log)
                                    .run(workloads.isEmpty() ? null : workloads.get(0))
                            : null;
            StepCostProfile profile = warm == null ? null : warm.profile();
            BenchResultsWriter results =
                    new BenchResultsWriter(
                            settings,
                            BenchResultsWriter.machineNote(
                                    settings, given != null ? traceFile : null));
            if (given != null) {
                results.replayed(
                        SimulatedMatrix.rows(
                                given,
                                settings,
                                config.policy(),
                                settings.simulationCost(profile),
                                new LinkedHashMap<>()));
            } else {
                runWorkloads(settings, config, bench, loop, workloads, warm, results);
            }
            if (profile != null) {
                results.costModel(profile);
            }
            if (given == null) {
                results.writeIndex();
            }
            log.printf(
                    Locale.ROOT,
                    "%s%nwrote %s (%.0f s)%n",
                    results.index(),
                    output,
                    (System.nanoTime() - started) / 1e9);
            if (json) {
                System.out.println(results.json());
            }
        }
        return 0;
    }

    /** The options with their defaults, which depend on --quick. */
    private BenchSettings settings() {
        return new BenchSettings(
                quick,
                simulate,
                simCost,
                costFit,
                costProfile,
                output,
                batches != null ? batches : quick ? List.of(8, 32) : List.of(1, 8, 32, 64),
                repeats != null ? repeats : 3,
                maxNewTokens != null ? maxNewTokens : quick ? 24 : 48,
                workloadNames,
                policies == null ? List.of() : policies.stream().map(BenchConfig::parse).toList());
    }

    /**
     * Each workload's reference run and trace, then its rows: measured with a projection, or
     * (--simulate) replayed from the trace.
     */
    private void runWorkloads(
            BenchSettings settings,
            TetrisConfig config,
            BenchModels bench,
            BenchLoop loop,
            List<Workload> workloads,
            WarmUp.Outcome warm,
            BenchResultsWriter results)
            throws IOException {
        StepCostProfile profile = warm.profile();
        Map<String, RunResult> references = new LinkedHashMap<>();
        Map<String, Trace> traces = new LinkedHashMap<>();
        for (Workload w : workloads) {
            RunResult reference = reference(settings, config, loop, w, profile);
            references.put(w.name(), reference);
            traces.put(w.name(), trace(bench, w, reference, output.resolve(w.name())));
        }
        if (settings.simulate()) {
            for (Workload w : workloads) {
                results.workload(
                        WorkloadRows.simulated(
                                w.name(),
                                traces.get(w.name()),
                                settings,
                                config.policy(),
                                profile));
            }
            return;
        }
        List<BenchSummary.Measured> measured =
                new MeasuredMatrix(settings, config.policy(), loop, warm.learning(), log)
                        .run(workloads, references, profile.model());
        for (Workload w : workloads) {
            BenchSummary.Measured m =
                    measured.stream()
                            .filter(x -> x.name().equals(w.name()))
                            .findFirst()
                            .orElseThrow();
            results.workload(
                    WorkloadRows.measured(
                            m, traces.get(w.name()), settings, config.policy(), profile));
        }
        results.summary(measured);
    }

    /** The run every other is checked against: fixed k = 1 at the largest batch. */
    private RunResult reference(
            BenchSettings settings,
            TetrisConfig config,
            BenchLoop loop,
            Workload workload,
            StepCostProfile profile) {
        log.println("reference run of the " + workload.name() + " workload ...");
        int largest = settings.largestBatch();
        return loop.run(
                workload.first(BenchSettings.requestsFor(largest)),
                largest,
                new BenchConfig(PolicyConfig.Kind.FIXED, 1, 0)
                        .create(config.policy(), profile.model()));
    }

    private List<Workload> workloads(
            BenchSettings settings, List<String> heldOut, Path dir, BenchModels bench)
            throws IOException {
        List<Workload> workloads = new ArrayList<>();
        for (String name : settings.workloads()) {
            workloads.add(workload(name, heldOut, dir, bench, settings));
        }
        return workloads;
    }

    private Workload workload(
            String name, List<String> held, Path dir, BenchModels bench, BenchSettings settings)
            throws IOException {
        int requests = BenchSettings.requestsFor(settings.largestBatch());
        if (name.equals(Workload.HELD_OUT)) {
            return Workload.of(held, bench.tokenizer(), requests, settings.maxNewTokens(), 42);
        }
        Path easy = easyPrompts != null ? easyPrompts : dir.resolve("bench_prompts_easy.txt");
        if (!Files.isRegularFile(easy)) {
            throw new IllegalArgumentException(
                    "the mixed workload needs formulaic prompts: "
                            + easy
                            + " is missing; pass --easy-prompts FILE (models/bench_prompts_easy.txt"
                            + " is the bundled one) or --workloads held-out");
        }
        return Workload.mixed(
                held,
                Workload.readPrompts(easy),
                bench.tokenizer(),
                requests,
                settings.maxNewTokens(),
                42);
    }

    private Trace trace(BenchModels bench, Workload workload, RunResult reference, Path dir)
            throws IOException {
        log.println(
                "recording the "
                        + workload.name()
                        + " trace (a full draft window at every output position) ...");
        Files.createDirectories(dir);
        Trace trace =
                new TraceRecorder(bench)
                        .record(workload, reference.outputs(), 9, line -> log.println("  " + line));
        trace.save(dir.resolve("trace.txt"));
        return trace;
    }

    private static BenchModels load(TetrisConfig config) {
        return BenchModels.load(
                config.models().draft(),
                config.models().target(),
                config.models().tokenizer(),
                config.models().onnx());
    }

    private TetrisConfig config() {
        Configuration conf = new Configuration();
        models.applyTo(conf);
        return TetrisConfig.from(conf);
    }
}
