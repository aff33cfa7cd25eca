package io.tetris.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.bench.BenchLoop;
import io.tetris.bench.BenchModels;
import io.tetris.bench.RunResult;
import io.tetris.bench.Simulator;
import io.tetris.bench.Trace;
import io.tetris.bench.TraceRecorder;
import io.tetris.bench.Workload;
import io.tetris.config.TetrisConfig;
import io.tetris.core.policy.BudgetPolicy;
import io.tetris.core.policy.CalibrationReport;
import io.tetris.core.policy.KneeStepCostModel;
import io.tetris.core.policy.OnlineCostModel;
import io.tetris.core.policy.PolicyConfig;
import io.tetris.core.policy.StepCostFit;
import io.tetris.core.policy.StepCostModel;
import io.tetris.engine.StepCostProfile;
import io.tetris.engine.StepCostProfiler;
import io.tetris.job.bench.BenchConfig;
import io.tetris.job.bench.BenchFindings;
import io.tetris.job.bench.BenchReport;
import io.tetris.job.bench.BenchRow;
import io.tetris.job.bench.BenchSummary;
import io.tetris.job.bench.RunSummary;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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

    /** Learns every timed round of the warm-up and the measured runs, in order. */
    private OnlineCostModel shared;

    /** The last instance of each learning configuration, to carry over into its next run. */
    private final Map<String, BudgetPolicy> learned = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        if (!List.of("absolute", "relative").contains(costFit)) {
            // Fail before minutes of profiling, not after.
            throw new IllegalArgumentException(
                    "--cost-fit must be absolute or relative, got '" + costFit + "'");
        }
        for (String w : workloadNames) {
            if (!List.of(Workload.HELD_OUT, Workload.MIXED).contains(w)) {
                throw new IllegalArgumentException(
                        "--workloads takes held-out and mixed, got '" + w + "'");
            }
        }
        List<Integer> batchSizes =
                batches != null ? batches : quick ? List.of(8, 32) : List.of(1, 8, 32, 64);
        int runs = repeats != null ? repeats : 3;
        int maxNew = maxNewTokens != null ? maxNewTokens : quick ? 24 : 48;
        Path dir = models.dir();
        TetrisConfig config = config();
        List<String> promptList =
                Workload.readPrompts(prompts != null ? prompts : dir.resolve("bench_prompts.txt"));
        Files.createDirectories(output);
        List<BenchConfig> matrix = BenchConfig.matrix(quick);
        int largest = batchSizes.stream().mapToInt(Integer::intValue).max().orElseThrow();
        try (BenchModels bench =
                BenchModels.load(
                        config.models().draft(),
                        config.models().target(),
                        config.models().tokenizer(),
                        config.models().onnx())) {
            Trace given = simulate && traceFile != null ? Trace.load(traceFile) : null;
            List<Workload> workloads = new ArrayList<>();
            if (given == null) {
                for (String name : workloadNames) {
                    workloads.add(workload(name, promptList, dir, bench, largest, maxNew));
                }
            }
            BenchLoop loop = new BenchLoop(bench);
            StepCostProfile profile = null;
            if (given == null || simCost.equals("measured")) {
                profile =
                        warmUp(
                                bench,
                                loop,
                                workloads.isEmpty() ? null : workloads.get(0),
                                config,
                                batchSizes);
            }
            String machine =
                    "Machine: "
                            + StepCostProfiler.machine()
                            + ". Workloads: "
                            + (given != null
                                    ? "the trace " + traceFile.getFileName()
                                    : String.join(", ", workloadNames))
                            + "; batch B runs the first max(8, 2 x B) requests, "
                            + maxNew
                            + " new tokens each, half greedy and half sampled at temperature "
                            + Workload.SAMPLED_TEMPERATURE
                            + " (coupled verification, fixed seeds); "
                            + (simulate
                                    ? "1 simulated run"
                                    : runs + " measured run(s), interleaved,")
                            + " per configuration.";
            ObjectNode root = new ObjectMapper().createObjectNode();
            ArrayNode configs = root.putArray("configs");
            StringBuilder top =
                    new StringBuilder(
                            "# tetris bench"
                                    + (quick ? " --quick" : "")
                                    + (simulate ? " --simulate (" + simCost + ")" : "")
                                    + "\n\n"
                                    + machine
                                    + "\n\n");
            if (given != null) {
                List<BenchRow> rows =
                        simulateMatrix(
                                given,
                                matrix,
                                batchSizes,
                                config,
                                simulationCost(profile),
                                new LinkedHashMap<>());
                BenchReport.write(
                        rows, "tetris bench --simulate (" + simCost + ")", machine, output);
                Path markdown = output.resolve("results.md");
                String claims = BenchFindings.claims(rows);
                Files.writeString(
                        markdown,
                        Files.readString(markdown, StandardCharsets.UTF_8) + "\n" + claims,
                        StandardCharsets.UTF_8);
                top.append(claims);
                addJson(configs, "trace", rows, null);
            } else {
                Map<String, RunResult> references = new LinkedHashMap<>();
                Map<String, Trace> traces = new LinkedHashMap<>();
                for (Workload w : workloads) {
                    log.println("reference run of the " + w.name() + " workload ...");
                    RunResult reference =
                            loop.run(
                                    w.first(requestsFor(largest)),
                                    largest,
                                    policy(
                                            config,
                                            new BenchConfig(PolicyConfig.Kind.FIXED, 1, 0),
                                            profile.model()));
                    references.put(w.name(), reference);
                    traces.put(w.name(), trace(bench, w, reference, output.resolve(w.name())));
                }
                List<BenchSummary.Measured> measured = new ArrayList<>();
                if (!simulate) {
                    measured =
                            measure(
                                    loop,
                                    workloads,
                                    references,
                                    matrix,
                                    batchSizes,
                                    runs,
                                    config,
                                    profile);
                }
                for (Workload w : workloads) {
                    Path out = output.resolve(w.name());
                    Trace trace = traces.get(w.name());
                    List<BenchRow> rows;
                    Map<String, CalibrationReport> calibration = new LinkedHashMap<>();
                    BenchSummary.Measured m = null;
                    if (simulate) {
                        rows =
                                simulateMatrix(
                                        trace,
                                        matrix,
                                        batchSizes,
                                        config,
                                        simulationCost(profile),
                                        calibration);
                    } else {
                        m =
                                measured.stream()
                                        .filter(x -> x.name().equals(w.name()))
                                        .findFirst()
                                        .orElseThrow();
                        rows = new ArrayList<>();
                        for (int batch : batchSizes) {
                            for (BenchConfig c : matrix) {
                                List<RunResult> rs = m.runs().get(BenchSummary.key(c, batch));
                                rows.add(RunSummary.row(c, batch, rs));
                                rs.get(0)
                                        .calibration()
                                        .filter(x -> c.kind() == PolicyConfig.Kind.TETRIS_ADAPTIVE)
                                        .ifPresent(
                                                cal ->
                                                        calibration.put(
                                                                "batch " + batch + " (measured)",
                                                                cal));
                            }
                        }
                    }
                    String title =
                            "tetris bench"
                                    + (quick ? " --quick" : "")
                                    + (simulate ? " --simulate (" + simCost + ")" : "")
                                    + ", workload "
                                    + w.name();
                    BenchReport.write(rows, title, machine, out);
                    StringBuilder findings = new StringBuilder();
                    findings.append(BenchFindings.claims(rows));
                    findings.append(BenchFindings.calibration(calibration));
                    if (!simulate) {
                        List<BenchRow> projected =
                                simulateMatrix(
                                        trace,
                                        matrix,
                                        batchSizes,
                                        config,
                                        KneeStepCostModel.GPU_LIKE,
                                        new LinkedHashMap<>());
                        BenchReport.write(
                                projected,
                                "projection: the same trace under the gpu-like cost model",
                                machine,
                                out.resolve("gpu-like"));
                        List<BenchRow> cpu =
                                simulateMatrix(
                                        trace,
                                        matrix,
                                        batchSizes,
                                        config,
                                        profile.model(),
                                        new LinkedHashMap<>());
                        findings.append(BenchFindings.projectionError(rows, cpu));
                        findings.append("\n## Projection to an accelerator-like cost model\n\n")
                                .append(
                                        BenchFindings.claims(projected)
                                                .replace("## Claims", "### Claims (projected)"))
                                .append(
                                        "\nFull tables and plots: [gpu-like/results.md](gpu-like/results.md).\n");
                        addJson(configs, w.name() + " (gpu-like projection)", projected, null);
                    }
                    Path markdown = out.resolve("results.md");
                    Files.writeString(
                            markdown,
                            Files.readString(markdown, StandardCharsets.UTF_8) + "\n" + findings,
                            StandardCharsets.UTF_8);
                    addJson(configs, w.name(), rows, m);
                    top.append("- workload `")
                            .append(w.name())
                            .append("`: [")
                            .append(w.name())
                            .append("/results.md](")
                            .append(w.name())
                            .append("/results.md)\n");
                }
                if (!simulate) {
                    top.append("\n")
                            .append(BenchSummary.markdown(measured, batchSizes, matrix, root));
                }
            }
            if (profile != null) {
                top.append("\n## Cost model\n\n")
                        .append(
                                costProfile != null
                                        ? "Loaded from a saved profile.\n"
                                        : "Fitted to the warm-up runs' rounds (fixed k = 1 and 6 at every batch size); the start-up profile of synthetic steps is in startup-profile.txt.\n")
                        .append("\n```\n")
                        .append(profile.summary())
                        .append("\n```\n");
            }
            if (given == null) {
                Files.writeString(
                        output.resolve("results.md"), top.toString(), StandardCharsets.UTF_8);
            }
            log.printf(
                    Locale.ROOT,
                    "%s%nwrote %s (%.0f s)%n",
                    top,
                    output,
                    (System.nanoTime() - started) / 1e9);
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(root));
            }
        }
        return 0;
    }

    private Workload workload(
            String name, List<String> held, Path dir, BenchModels bench, int largest, int maxNew)
            throws java.io.IOException {
        if (name.equals(Workload.HELD_OUT)) {
            return Workload.of(held, bench.tokenizer(), requestsFor(largest), maxNew, 42);
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
                requestsFor(largest),
                maxNew,
                42);
    }

    /** The start-up profile, warm-up runs (JIT) and the cost model fitted to their rounds. */
    private StepCostProfile warmUp(
            BenchModels bench,
            BenchLoop loop,
            Workload workload,
            TetrisConfig config,
            List<Integer> batchSizes)
            throws java.io.IOException {
        StepCostProfile startup = profile(bench);
        shared = new OnlineCostModel(startup.model());
        if (workload == null) {
            return startup;
        }
        // Warm-up runs (JIT) at every batch with a short and a long window; their rounds are the
        // cost samples that matter, since they include everything a round does.
        log.println("warm-up runs (JIT, and round timings for the cost model) ...");
        List<StepCostFit.Sample> draftSamples = new ArrayList<>();
        List<StepCostFit.Sample> verifySamples = new ArrayList<>();
        for (int batch : batchSizes) {
            for (int k : new int[] {1, 6}) {
                BenchConfig c = new BenchConfig(PolicyConfig.Kind.FIXED, k, 0);
                RunResult r =
                        loop.run(
                                workload.first(requestsFor(batch)),
                                batch,
                                policy(config, c, startup.model()),
                                shared);
                draftSamples.addAll(r.draftSamples());
                verifySamples.addAll(r.verifySamples());
            }
        }
        // tetris-adaptive too, at every batch: its learned state (costs, acceptance, when to
        // explore) then starts the measured runs as a replica that has been serving would.
        for (int batch : batchSizes) {
            BenchConfig c =
                    new BenchConfig(
                            PolicyConfig.Kind.TETRIS_ADAPTIVE, 0, BenchConfig.ADAPTIVE_EXTRA);
            BudgetPolicy policy =
                    continued(policy(config, c, shared.copy()), learned.get(label(c)));
            loop.run(workload.first(requestsFor(batch)), batch, policy, shared);
            learned.put(label(c), policy);
        }
        if (costProfile != null) {
            return startup;
        }
        StepCostProfile profile =
                new StepCostProfile(
                        draftSamples,
                        verifySamples,
                        fit(draftSamples),
                        fit(verifySamples),
                        StepCostProfiler.machine());
        profile.save(output.resolve("cost-profile.txt"));
        log.println("cost model fitted to the warm-up rounds:\n" + profile.summary());
        return profile;
    }

    private static void addJson(
            ArrayNode configs, String workload, List<BenchRow> rows, BenchSummary.Measured m) {
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
            if (m == null) {
                continue;
            }
            BenchConfig c = new BenchConfig(PolicyConfig.Kind.parse(r.policy()), r.k(), r.extra());
            List<RunResult> runs = m.runs().get(BenchSummary.key(c, r.batch()));
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

    private StepCostFit.Linear fit(List<StepCostFit.Sample> samples) {
        return costFit.equals("relative")
                ? StepCostFit.fitRelative(samples)
                : StepCostFit.fit(samples);
    }

    private TetrisConfig config() {
        Configuration conf = new Configuration();
        models.applyTo(conf);
        return TetrisConfig.from(conf);
    }

    private static int requestsFor(int batch) {
        return Math.max(8, 2 * batch);
    }

    private StepCostProfile profile(BenchModels bench) {
        if (costProfile != null) {
            StepCostProfile loaded = StepCostProfile.load(costProfile);
            log.println("cost profile from " + costProfile + ":\n" + loaded.summary());
            return loaded;
        }
        log.println("profiling draft steps and verification passes on this machine ...");
        StepCostProfile profile =
                new StepCostProfiler(bench.draft(), bench.target(), 256)
                        .profile(
                                quick
                                        ? StepCostProfiler.Grid.quick()
                                        : StepCostProfiler.Grid.standard(),
                                line -> log.println("  " + line));
        profile.save(output.resolve("startup-profile.txt"));
        log.println(profile.summary());
        return profile;
    }

    private Trace trace(BenchModels bench, Workload workload, RunResult reference, Path dir)
            throws java.io.IOException {
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

    private StepCostModel simulationCost(StepCostProfile profile) {
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

    private List<BenchSummary.Measured> measure(
            BenchLoop loop,
            List<Workload> workloads,
            Map<String, RunResult> references,
            List<BenchConfig> matrix,
            List<Integer> batchSizes,
            int runs,
            TetrisConfig config,
            StepCostProfile profile) {
        Map<String, Map<String, List<RunResult>>> results = new LinkedHashMap<>();
        for (Workload w : workloads) {
            results.put(w.name(), new LinkedHashMap<>());
        }
        // One online cost model learns every round of every run, in order: its error on rounds it
        // has not yet seen is the cost model's figure over the whole range of round shapes.
        OnlineCostModel shared = this.shared;

        int total = runs * workloads.size() * batchSizes.size() * matrix.size();
        int done = 0;
        long start = System.nanoTime();
        // Repeats are the outer loop so a slow phase of the machine hits every configuration alike.
        for (int run = 0; run < runs; run++) {
            for (Workload workload : workloads) {
                for (int batch : batchSizes) {
                    Workload w = workload.first(requestsFor(batch));
                    for (BenchConfig c : matrix) {
                        // A long-running replica has learned the machine and the models when new
                        // requests arrive: a policy that learns carries over what its previous run
                        // learned (never anything about requests).
                        BudgetPolicy policy =
                                continued(
                                        policy(config, c, profile.model()), learned.get(label(c)));
                        learned.put(label(c), policy);
                        RunResult r = loop.run(w, batch, policy, shared);
                        checkLossless(references.get(workload.name()), r, c, batch);
                        results.get(workload.name())
                                .computeIfAbsent(BenchSummary.key(c, batch), x -> new ArrayList<>())
                                .add(r);
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
                                label(c),
                                r.tokensPerSecond(),
                                r.stats().acceptanceRate(),
                                elapsed / done * (total - done));
                    }
                }
            }
        }
        List<BenchSummary.Measured> out = new ArrayList<>();
        results.forEach((name, m) -> out.add(new BenchSummary.Measured(name, m)));
        return out;
    }

    private List<BenchRow> simulateMatrix(
            Trace trace,
            List<BenchConfig> matrix,
            List<Integer> batchSizes,
            TetrisConfig config,
            StepCostModel cost,
            Map<String, CalibrationReport> calibration) {
        List<BenchRow> rows = new ArrayList<>();
        for (int batch : batchSizes) {
            Trace t =
                    new Trace(
                            trace.maxDraft(),
                            trace.sequences()
                                    .subList(
                                            0,
                                            Math.min(
                                                    trace.sequences().size(), requestsFor(batch))));
            for (BenchConfig c : matrix) {
                BudgetPolicy policy = policy(config, c, cost);
                if (policy.learned().length > 0) {
                    // As in measured runs: a learning policy starts from a run of its own.
                    Simulator.run(t, batch, policy, cost);
                    policy = continued(policy(config, c, cost), policy);
                }
                RunResult r = Simulator.run(t, batch, policy, cost);
                r.calibration()
                        .ifPresent(cal -> calibration.put("batch " + batch + " (simulated)", cal));
                rows.add(RunSummary.row(c, batch, List.of(r)));
            }
        }
        return rows;
    }

    /**
     * {@code fresh}, continuing from what {@code previous} (of the same configuration, or null)
     * learned about the models and the machine, as a replica restored from a checkpoint does.
     */
    private static BudgetPolicy continued(BudgetPolicy fresh, BudgetPolicy previous) {
        if (previous != null) {
            fresh.restore(previous.learned());
        }
        return fresh;
    }

    private static io.tetris.core.policy.BudgetPolicy policy(
            TetrisConfig config, BenchConfig c, StepCostModel cost) {
        return c.policy(config.policy()).create(cost);
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
                                + label(c)
                                + " at batch "
                                + batch
                                + " than under fixed k=3: verification is not lossless");
            }
        }
    }

    private static String key(BenchConfig c, int batch) {
        return label(c) + "@" + batch;
    }

    private static String label(BenchConfig c) {
        return BenchRow.label(c.policyName(), c.k(), c.extra());
    }
}
