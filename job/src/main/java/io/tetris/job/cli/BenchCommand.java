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
import io.tetris.core.policy.CalibrationReport;
import io.tetris.core.policy.KneeStepCostModel;
import io.tetris.core.policy.PolicyConfig;
import io.tetris.core.policy.StepCostFit;
import io.tetris.core.policy.StepCostModel;
import io.tetris.engine.StepCostProfile;
import io.tetris.engine.StepCostProfiler;
import io.tetris.job.bench.BenchConfig;
import io.tetris.job.bench.BenchFindings;
import io.tetris.job.bench.BenchReport;
import io.tetris.job.bench.BenchRow;
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
                    "Cost model of --simulate: gpu-like (flat to a token knee, then linear),"
                            + " measured (this machine's profile), or"
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
            description = "Measured runs per configuration (default: 3; --quick: 1).")
    Integer repeats;

    @Option(
            names = "--max-new-tokens",
            description = "Tokens per request (default: 48; --quick: 32).")
    Integer maxNewTokens;

    @Option(
            names = "--prompts",
            paramLabel = "FILE",
            description = "Prompt file, one per line (default: models/bench_prompts.txt).")
    Path prompts;

    @Mixin ModelsOption models = new ModelsOption();

    private final PrintStream log = System.err;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        if (!List.of("absolute", "relative").contains(costFit)) {
            // Fail before minutes of profiling, not after.
            throw new IllegalArgumentException(
                    "--cost-fit must be absolute or relative, got '" + costFit + "'");
        }
        List<Integer> batchSizes =
                batches != null ? batches : quick ? List.of(8, 32) : List.of(1, 8, 32, 64);
        int runs = repeats != null ? repeats : quick ? 1 : 3;
        int maxNew = maxNewTokens != null ? maxNewTokens : quick ? 32 : 48;
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
            Workload workload =
                    Workload.of(promptList, bench.tokenizer(), requestsFor(largest), maxNew, 42);
            BenchLoop loop = new BenchLoop(bench);
            Trace trace = simulate && traceFile != null ? Trace.load(traceFile) : null;
            StepCostProfile profile;
            RunResult reference = null;
            if (trace != null && !simCost.equals("measured")) {
                profile = null;
            } else {
                StepCostProfile startup = profile(bench);
                // Warm-up runs (JIT) at every batch with a short and a long window; their rounds
                // are the cost samples that matter, since they include everything a round does.
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
                                        policy(config, c, startup.model()));
                        draftSamples.addAll(r.draftSamples());
                        verifySamples.addAll(r.verifySamples());
                        if (batch == largest) {
                            reference = r;
                        }
                    }
                }
                profile =
                        costProfile != null
                                ? startup
                                : new StepCostProfile(
                                        draftSamples,
                                        verifySamples,
                                        fit(draftSamples),
                                        fit(verifySamples),
                                        StepCostProfiler.machine());
                if (costProfile == null) {
                    profile.save(output.resolve("cost-profile.txt"));
                    log.println("cost model fitted to the warm-up rounds:\n" + profile.summary());
                }
            }
            if (trace == null) {
                trace = trace(bench, workload, reference);
            }
            List<BenchRow> rows;
            Map<String, CalibrationReport> calibration = new LinkedHashMap<>();
            String title;
            if (simulate) {
                StepCostModel cost = simulationCost(profile);
                rows = simulateMatrix(trace, matrix, batchSizes, config, cost, calibration);
                title = "tetris bench --simulate (" + simCost + ")";
            } else {
                rows =
                        measure(
                                loop,
                                workload,
                                reference,
                                matrix,
                                batchSizes,
                                runs,
                                config,
                                profile,
                                calibration);
                title = "tetris bench" + (quick ? " --quick" : "");
            }
            String machine =
                    "Machine: "
                            + StepCostProfiler.machine()
                            + ". Workload: "
                            + workload.requests().size()
                            + " held-out prompts at most (2 x batch, at least 8), "
                            + maxNew
                            + " new tokens each, half greedy and half sampled at temperature "
                            + Workload.SAMPLED_TEMPERATURE
                            + " (coupled verification, fixed seeds); "
                            + runs
                            + (simulate ? " simulated run" : " measured run(s)")
                            + " per configuration.";
            BenchReport.write(rows, title, machine, output);
            StringBuilder findings = new StringBuilder();
            findings.append(BenchFindings.claims(rows));
            findings.append(BenchFindings.calibration(calibration));
            if (!simulate) {
                StepCostModel gpu = KneeStepCostModel.GPU_LIKE;
                List<BenchRow> projected =
                        simulateMatrix(
                                trace, matrix, batchSizes, config, gpu, new LinkedHashMap<>());
                Path gpuDir = output.resolve("gpu-like");
                BenchReport.write(
                        projected,
                        "projection: the same trace under the gpu-like cost model",
                        machine,
                        gpuDir);
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
            }
            if (profile != null) {
                findings.append("\n## Cost model\n\n")
                        .append(
                                costProfile != null
                                        ? "Loaded from a saved profile.\n"
                                        : "Fitted to the warm-up runs' rounds (fixed k = 1 and 6 at"
                                                + " every batch size); the start-up profile of"
                                                + " synthetic steps is in"
                                                + " startup-profile.txt.\n")
                        .append("\n```\n")
                        .append(profile.summary())
                        .append("\n```\n");
            }
            Path markdown = output.resolve("results.md");
            Files.writeString(
                    markdown,
                    Files.readString(markdown, StandardCharsets.UTF_8) + "\n" + findings,
                    StandardCharsets.UTF_8);
            log.printf(
                    Locale.ROOT,
                    "%s%nwrote %s (%.0f s)%n",
                    findings,
                    output,
                    (System.nanoTime() - started) / 1e9);
            if (json) {
                System.out.println(json(rows));
            }
        }
        return 0;
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

    private Trace trace(BenchModels bench, Workload workload, RunResult reference)
            throws java.io.IOException {
        if (traceFile != null) {
            return Trace.load(traceFile);
        }
        log.println("recording the trace (a full draft window at every output position) ...");
        Trace trace =
                new TraceRecorder(bench)
                        .record(workload, reference.outputs(), 9, line -> log.println("  " + line));
        trace.save(output.resolve("trace.txt"));
        return trace;
    }

    private StepCostModel simulationCost(StepCostProfile profile) {
        if (simCost.equals("gpu-like")) {
            return KneeStepCostModel.GPU_LIKE;
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
                "--sim-cost must be gpu-like, measured or knee:..., got '" + simCost + "'");
    }

    private List<BenchRow> measure(
            BenchLoop loop,
            Workload workload,
            RunResult reference,
            List<BenchConfig> matrix,
            List<Integer> batchSizes,
            int runs,
            TetrisConfig config,
            StepCostProfile profile,
            Map<String, CalibrationReport> calibration) {
        Map<String, List<RunResult>> results = new LinkedHashMap<>();
        int total = runs * batchSizes.size() * matrix.size();
        int done = 0;
        long start = System.nanoTime();
        // Repeats are the outer loop so a slow phase of the machine hits every configuration alike.
        for (int run = 0; run < runs; run++) {
            for (int batch : batchSizes) {
                Workload w = workload.first(requestsFor(batch));
                for (BenchConfig c : matrix) {
                    RunResult r = loop.run(w, batch, policy(config, c, profile.model()));
                    checkLossless(reference, r, c, batch);
                    results.computeIfAbsent(key(c, batch), x -> new ArrayList<>()).add(r);
                    r.calibration()
                            .ifPresent(
                                    cal -> calibration.put("batch " + batch + " (measured)", cal));
                    done++;
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    log.printf(
                            Locale.ROOT,
                            "[%d/%d] run %d, batch %d, %-18s %7.1f tokens/s  VSR %.3f  (eta %.0f s)%n",
                            done,
                            total,
                            run + 1,
                            batch,
                            label(c),
                            r.tokensPerSecond(),
                            r.stats().acceptanceRate(),
                            elapsed / done * (total - done));
                }
            }
        }
        List<BenchRow> rows = new ArrayList<>();
        for (int batch : batchSizes) {
            for (BenchConfig c : matrix) {
                rows.add(RunSummary.row(c, batch, results.get(key(c, batch))));
            }
        }
        return rows;
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
                RunResult r = Simulator.run(t, batch, policy(config, c, cost), cost);
                r.calibration()
                        .ifPresent(cal -> calibration.put("batch " + batch + " (simulated)", cal));
                rows.add(RunSummary.row(c, batch, List.of(r)));
            }
        }
        return rows;
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

    private static String json(List<BenchRow> rows) throws java.io.IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode configs = root.putArray("configs");
        for (BenchRow r : rows) {
            ObjectNode o = configs.addObject();
            o.put("policy", r.policy());
            o.put("k", r.k());
            o.put("extra", r.extra());
            o.put("batch", r.batch());
            o.put("tokens_per_second", r.tokensPerSecond());
            o.put("verification_success_rate", r.verificationSuccessRate());
            o.put("mean_acceptance_length", r.meanAcceptanceLength());
            o.put("tokens_per_target_pass", r.tokensPerTargetPass());
            o.put("budget_utilisation", r.budgetUtilisation());
        }
        return mapper.writeValueAsString(root);
    }
}
