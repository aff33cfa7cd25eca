package io.tetris.job.cli;

import io.tetris.engine.StepCostProfiler;
import io.tetris.job.bench.BenchConfig;
import io.tetris.job.bench.ClientTimings;
import io.tetris.job.bench.GatewayTransport;
import io.tetris.job.bench.JobHistograms;
import io.tetris.job.bench.LoadPoint;
import io.tetris.job.bench.PoissonArrivals;
import io.tetris.job.bench.ServeReport;
import io.tetris.job.bench.Transport;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.measure.Workload;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.schemas.GenerationRequest;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The open-loop benchmark: requests arrive at a Poisson rate, whatever the job's state, and every
 * latency is measured at the client as a streaming user sees it, per policy and rate.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark under load: send requests to the embedded job at Poisson arrival rates,"
                    + " per policy, and report throughput, time to first token, inter-token and"
                    + " end-to-end latency percentiles, goodput within a latency objective and the"
                    + " highest rate each policy sustains within it (results.md, results.csv,"
                    + " PNG charts). With --bootstrap-servers or --via-gateway it measures the one"
                    + " job running there instead."
        })
final class ServeBenchCommand implements Callable<Integer> {

    @Mixin EngineOptions engine;

    @Mixin KafkaOptions kafka;

    @Option(
            names = "--label",
            description =
                    "With --bootstrap-servers or --via-gateway (a running job instead of the"
                            + " embedded one, whose policy is its own): its name in the report"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "external")
    String label;

    @Option(
            names = "--metrics-url",
            paramLabel = "URL",
            description =
                    "With --bootstrap-servers or --via-gateway: the job's Prometheus endpoint (e.g."
                            + " http://host:9249/metrics), to set the client's percentiles"
                            + " against its histograms.")
    URI metricsUrl;

    @Option(
            names = "--via-gateway",
            paramLabel = "URL",
            description =
                    "Send each request through the running job's OpenAI-compatible gateway at this"
                            + " base URL (e.g. http://localhost:8000/v1), streamed as server-sent"
                            + " events, instead of to Kafka; checked before any load is sent."
                            + " Measured at the client as a gateway user sees it: TTFT to the"
                            + " first chunk carrying text, end-to-end to the chunk with the"
                            + " finish_reason, tokens from the usage chunk. A chunk carries one"
                            + " round's tokens, so each gap between chunks with text is shared"
                            + " out evenly over the request's tokens: each request's mean ITL is"
                            + " exact, the spread within it only where a chunk carries one token."
                            + " An HTTP error or a failed connection counts the request as"
                            + " failed and is printed. No queue time (the gateway does not pass"
                            + " it on).")
    URI viaGateway;

    @Option(
            names = "--rates",
            split = ",",
            paramLabel = "R",
            description = "Arrival rates in requests per second (default: ${DEFAULT-VALUE}).",
            defaultValue = "1,2,4,8")
    List<Double> rates;

    @Option(
            names = "--policies",
            split = ",",
            paramLabel = "P",
            description =
                    "Policies, each as none, fixed:K, dsd, tetris:K:EXTRA or tetris-adaptive"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "none,fixed:3,dsd,tetris:3:1,tetris-adaptive")
    List<String> policies;

    @Option(
            names = "--requests",
            description = "Requests sent at each rate (default: ${DEFAULT-VALUE}).",
            defaultValue = "32")
    int requests;

    @Option(
            names = "--seconds",
            description =
                    "At least this long at each rate: sends max(--requests, rate x seconds)"
                            + " requests, so a high rate reaches its steady state (default:"
                            + " ${DEFAULT-VALUE}).",
            defaultValue = "0")
    double seconds;

    @Option(
            names = "--output-tokens",
            paramLabel = "MIN:MAX",
            description =
                    "Each request's max_new_tokens, drawn uniformly from MIN to MAX (default:"
                            + " ${DEFAULT-VALUE}).",
            defaultValue = "32:64")
    String outputTokens;

    @Option(
            names = "--slo-ttft-ms",
            description =
                    "Objective: time to first token at most this (default: ${DEFAULT-VALUE}).",
            defaultValue = "1000")
    double sloTtftMs;

    @Option(
            names = "--slo-itl-ms",
            description =
                    "Objective: a request's mean inter-token latency at most this (default:"
                            + " ${DEFAULT-VALUE}).",
            defaultValue = "100")
    double sloItlMs;

    @Option(
            names = "--attainment",
            description =
                    "Share of requests within the objective a sustained rate needs (default:"
                            + " ${DEFAULT-VALUE}).",
            defaultValue = "0.9")
    double attainment;

    @Option(
            names = "--repeats",
            description =
                    "Runs of every policy at every rate, interleaved (default: ${DEFAULT-VALUE}).",
            defaultValue = "2")
    int repeats;

    @Option(
            names = "--prompts",
            paramLabel = "FILE",
            description = "Prompt file, one per line (default: bench_prompts.txt of the models).")
    Path prompts;

    @Option(
            names = "--output",
            paramLabel = "DIR",
            description = "Where the report goes (default: ${DEFAULT-VALUE}).",
            defaultValue = "bench-serve")
    Path output;

    /** {@code base} with policy {@code c}: its window and extra where it has them. */
    private static Configuration apply(BenchConfig c, Configuration base) {
        Configuration conf = new Configuration(base);
        conf.set(TetrisOptions.POLICY, c.policyName());
        if (c.k() > 0) {
            conf.set(TetrisOptions.K, c.k());
        }
        if (c.extra() > 0) {
            conf.set(TetrisOptions.EXTRA, c.extra());
        }
        return conf;
    }

    @Override
    public Integer call() throws Exception {
        List<BenchConfig> specs = policies.stream().map(BenchConfig::parse).toList();
        int[] lengths = lengths(outputTokens);
        if (rates.stream().anyMatch(r -> !(r > 0)) || requests < 1 || repeats < 1) {
            throw new IllegalArgumentException(
                    "--rates must be above 0, --requests and --repeats at least 1");
        }
        if (viaGateway != null && kafkaGiven()) {
            throw new IllegalArgumentException(
                    "--via-gateway and --bootstrap-servers/--kafka-config exclude each other: the"
                            + " gateway has its own Kafka settings");
        }
        // Before anything else, so an unreachable gateway fails at once, not after the setup.
        Target running = external() ? runningTarget() : null;
        Configuration base = engine.configuration();
        // The job's own histograms, to check the client's percentiles against.
        base.setString("metrics.reporter.prom.factory.class", ServeCommand.PROMETHEUS_REPORTER);
        base.setString("metrics.reporter.prom.filterLabelValueCharacters", "false");
        Path dir = engine.models.dir();
        List<String> promptList =
                Workload.readPrompts(prompts != null ? prompts : dir.resolve("bench_prompts.txt"));
        ClientTimings.Slo slo = new ClientTimings.Slo(sloTtftMs, sloItlMs);
        List<LoadPoint> points = new ArrayList<>();
        Progress progress = new Progress(repeats * (external() ? 1 : specs.size()) * rates.size());
        // Repeats outermost so a slow phase of the machine hits every policy alike.
        for (int repeat = 1; repeat <= repeats; repeat++) {
            if (running != null) {
                points.addAll(runRates(running, label, repeat, promptList, lengths, slo, progress));
                continue;
            }
            for (BenchConfig spec : specs) {
                Configuration conf = apply(spec, base);
                // A port of its own: the previous job's reporter may not have let go of its port.
                int metricsPort = freePort();
                conf.setString("metrics.reporter.prom.port", Integer.toString(metricsPort));
                URI metrics = URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
                TetrisConfig config = TetrisConfig.from(conf);
                System.err.printf(
                        Locale.ROOT, "run %d, %s: starting the job ...%n", repeat, spec.label());
                try (EmbeddedJob job =
                        EmbeddedJob.start(
                                conf, config, engine.checkpointInterval, "tetris-bench-serve")) {
                    points.addAll(
                            runRates(
                                    new Target(
                                            timings -> Transport.kafka(job.client(timings)),
                                            metrics),
                                    spec.label(),
                                    repeat,
                                    promptList,
                                    lengths,
                                    slo,
                                    progress));
                }
            }
        }
        String header =
                String.format(
                        Locale.ROOT,
                        "Machine: %s. Models: %s. %s Per rate"
                                + " %s requests at Poisson arrival times (fixed seeds), half greedy"
                                + " and half sampled at temperature %.1f, max_new_tokens uniform in"
                                + " [%d, %d], prompts from %s; %d interleaved repeat(s) per policy"
                                + " and rate. Latencies start at each request's scheduled arrival"
                                + " and end when its %s arrive at the client.",
                        StepCostProfiler.machine(),
                        dir.getFileName(),
                        where(),
                        seconds > 0
                                ? "max(" + requests + ", rate x " + seconds + " s)"
                                : Integer.toString(requests),
                        Workload.SAMPLED_TEMPERATURE,
                        lengths[0],
                        lengths[1],
                        prompts != null ? prompts.getFileName() : "bench_prompts.txt",
                        repeats,
                        viaGateway != null ? "streamed chunks" : "token events");
        new ServeReport(points, slo, attainment).write(output, "tetris bench serve", header);
        System.err.printf(
                Locale.ROOT,
                "wrote %s (%.0f s)%n",
                output,
                (System.nanoTime() - progress.started) / 1e9);
        return 0;
    }

    /** One open-loop run: sends at Poisson times, then waits for every answer. */
    private LoadPoint runAt(
            Target target,
            String label,
            double rate,
            int repeat,
            List<String> promptList,
            int[] lengths,
            ClientTimings.Slo slo)
            throws Exception {
        long seed = Math.round(rate * 1000) * 31 + repeat;
        int requests = requestsAt(rate);
        long[] offsets = PoissonArrivals.offsetsNanos(rate, requests, seed);
        SplittableRandom random = new SplittableRandom(seed);
        ClientTimings timings = new ClientTimings(requests);
        JobHistograms before = target.scrape();
        try (Transport client = target.connect().apply(timings)) {
            long start = System.nanoTime();
            for (int i = 0; i < requests; i++) {
                long due = start + offsets[i];
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                String id =
                        String.format(
                                Locale.ROOT, "serve-%d-%d-%d", repeat, Math.round(rate * 1000), i);
                timings.scheduled(id, due);
                client.send(
                        GenerationRequest.newBuilder()
                                .setRequestId(id)
                                .setPrompt(promptList.get(i % promptList.size()))
                                .setMaxNewTokens(
                                        lengths[0] + random.nextInt(lengths[1] - lengths[0] + 1))
                                .setTemperature(
                                        i % 2 == 0 ? 0f : (float) Workload.SAMPLED_TEMPERATURE)
                                .setSeed(i)
                                .build());
            }
            if (!timings.await(10, TimeUnit.MINUTES)) {
                System.err.printf(
                        Locale.ROOT,
                        "  %s at %.2f req/s: not every request answered in 10 min%n",
                        label,
                        rate);
            }
        }
        JobHistograms after = target.scrape();
        JobHistograms counted = before == null || after == null ? null : after.minus(before);
        return timings.summarise(label, rate, repeat, slo, counted);
    }

    /** Where requests go: a transport to the job, and the job's Prometheus endpoint if known. */
    private record Target(Function<ClientTimings, Transport> connect, URI metrics) {

        /** The job's histograms now, or null where they cannot be read (said on stderr). */
        JobHistograms scrape() throws InterruptedException {
            if (metrics == null) {
                return null;
            }
            try {
                return JobHistograms.scrape(metrics);
            } catch (java.io.IOException e) {
                // The comparison with the job's histograms is a check, not the measurement.
                System.err.println("cannot read the job's metrics at " + metrics + ": " + e);
                return null;
            }
        }
    }

    /** Runs done and to do, for the progress lines. */
    private static final class Progress {
        final int total;
        final long started = System.nanoTime();
        int done;

        Progress(int total) {
            this.total = total;
        }
    }

    /** Where the job runs and how requests reach it, for the report's header. */
    private String where() {
        if (viaGateway != null) {
            return "The job is the one behind the gateway at "
                    + viaGateway
                    + " (labelled "
                    + label
                    + "), with its own configuration; requests go through the gateway, streamed,"
                    + " and the client runs here.";
        }
        if (external()) {
            return "The job is the one running at "
                    + kafka.settings().bootstrapServers()
                    + " (labelled "
                    + label
                    + "), with its own configuration; the client runs here.";
        }
        return String.format(
                Locale.ROOT,
                "The job runs embedded (in-process Kafka, local Flink, one replica, running batch"
                        + " %d, checkpoints every %d ms) in the same JVM as the client, which shares"
                        + " its cores.",
                engine.batch,
                engine.checkpointInterval);
    }

    /** Whether the bench measures a job running elsewhere (one, under --label), not its own. */
    private boolean external() {
        return kafkaGiven() || viaGateway != null;
    }

    private boolean kafkaGiven() {
        return kafka.bootstrapServers != null || kafka.kafkaConfig != null;
    }

    /** The running job, through its gateway or straight to its topics. */
    private Target runningTarget() throws InterruptedException {
        if (viaGateway != null) {
            GatewayTransport.Endpoint gateway = GatewayTransport.Endpoint.reach(viaGateway);
            System.err.printf(
                    Locale.ROOT,
                    "gateway at %s is ready, serving %s%n",
                    gateway.baseUrl(),
                    gateway.model());
            return new Target(gateway::open, metricsUrl);
        }
        KafkaClientSettings settings = kafka.settings();
        return new Target(
                timings ->
                        Transport.kafka(GenerationClient.open(settings, kafka.topics(), timings)),
                metricsUrl);
    }

    /** Every rate, lowest first, against one target. */
    private List<LoadPoint> runRates(
            Target target,
            String label,
            int repeat,
            List<String> promptList,
            int[] lengths,
            ClientTimings.Slo slo,
            Progress progress)
            throws Exception {
        List<LoadPoint> points = new ArrayList<>();
        for (double rate : rates) {
            LoadPoint p = runAt(target, label, rate, repeat, promptList, lengths, slo);
            points.add(p);
            progress.done++;
            double elapsed = (System.nanoTime() - progress.started) / 1e9;
            System.err.printf(
                    Locale.ROOT,
                    "[%d/%d] run %d, %-18s %5.2f req/s offered: %d/%d done, TTFT p50 %.0f ms p99"
                            + " %.0f ms, ITL p50 %.0f ms p99 %.0f ms, %.0f %% within the objective"
                            + " (eta %.0f s)%n",
                    progress.done,
                    progress.total,
                    repeat,
                    label,
                    rate,
                    p.completed(),
                    p.sent(),
                    LoadPoint.quantile(p.ttftMs(), 0.5),
                    LoadPoint.quantile(p.ttftMs(), 0.99),
                    LoadPoint.quantile(p.itlMs(), 0.5),
                    LoadPoint.quantile(p.itlMs(), 0.99),
                    100 * p.attainment(),
                    elapsed / progress.done * (progress.total - progress.done));
        }
        return points;
    }

    private int requestsAt(double rate) {
        return (int) Math.max(requests, Math.round(rate * seconds));
    }

    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static int[] lengths(String spec) {
        String[] p = spec.split(":");
        try {
            int min = Integer.parseInt(p[0].trim());
            int max = p.length > 1 ? Integer.parseInt(p[1].trim()) : min;
            if (p.length > 2 || min < 1 || max < min) {
                throw new IllegalArgumentException();
            }
            return new int[] {min, max};
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "--output-tokens takes MIN:MAX with 1 <= MIN <= MAX, got '" + spec + "'");
        }
    }
}
