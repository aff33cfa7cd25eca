package io.tetris.job.cli;

import io.tetris.core.SamplingParams;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.ResponseListener;
import io.tetris.measure.BenchLoop;
import io.tetris.measure.BenchModels;
import io.tetris.measure.Workload;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.TokenEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Benchmark of what the streaming job costs over a plain Java decode loop: the same models, policy,
 * batch size and prompts, one after the other in one process.
 */
@Command(
        name = "overhead",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark: output tokens/s of the Flink job (in-process Kafka, local Flink) against a"
                    + " plain Java loop running the same models, policy, batch size and prompts;"
                    + " prints both and their ratio."
        })
final class OverheadCommand implements Callable<Integer> {

    @Mixin EngineOptions engine;

    @Option(
            names = "--requests",
            description =
                    "Requests per run (default: ${DEFAULT-VALUE}). Runs need seconds of work: with"
                            + " exactly-once results the last tokens become visible only at the"
                            + " next checkpoint, a fixed latency a short run mistakes for"
                            + " throughput.",
            defaultValue = "256")
    int requests;

    @Option(
            names = "--max-new-tokens",
            description = "Tokens per request (default: ${DEFAULT-VALUE}).",
            defaultValue = "128")
    int maxNewTokens;

    @Option(
            names = "--repeat",
            description =
                    "Measured runs of each variant; the median counts (default: ${DEFAULT-VALUE}).",
            defaultValue = "5")
    int repeat;

    @Option(
            names = "--warmups",
            description = "Unmeasured runs of each variant first (default: ${DEFAULT-VALUE}).",
            defaultValue = "2")
    int warmups;

    @Override
    public Integer call() throws Exception {
        Configuration conf = engine.configuration();
        TetrisConfig config = TetrisConfig.from(conf);
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            prompts.add(
                    DemoCommand.SAMPLE_PROMPTS.get(i % DemoCommand.SAMPLE_PROMPTS.size())
                            + " "
                            + i);
        }
        // Warm-up runs first, so the JIT has compiled the engine, Flink and Kafka code (on 2
        // cores its compiler threads otherwise take CPU from the loop); then the two take turns,
        // so a slow phase of the machine hits both alike.
        List<Double> plain = new ArrayList<>();
        List<Double> job = new ArrayList<>();
        try (EmbeddedJob embedded =
                EmbeddedJob.start(conf, config, engine.checkpointInterval, "tetris-overhead")) {
            for (int run = -warmups; run < repeat; run++) {
                double p = plainLoop(config, prompts);
                double j = jobRun(embedded, prompts, "run" + (run + warmups));
                if (run >= 0) {
                    plain.add(p);
                    job.add(j);
                }
            }
        }
        double plainMedian = median(plain);
        double jobMedian = median(job);
        System.out.printf(
                Locale.ROOT,
                "policy %s, batch %d, %d requests x %d tokens, median of %d interleaved runs"
                        + " after %d warm-ups:%n  plain Java loop                 %.1f tokens/s %s%n"
                        + "  Flink job                       %.1f tokens/s %s%n"
                        + "  ratio                           %.3f%n",
                engine.policy,
                engine.batch,
                requests,
                maxNewTokens,
                repeat,
                warmups,
                plainMedian,
                rates(plain),
                jobMedian,
                rates(job),
                jobMedian / plainMedian);
        return 0;
    }

    private static double median(List<Double> values) {
        return io.tetris.measure.Median.of(
                values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static String rates(List<Double> values) {
        return values.stream()
                .map(v -> String.format(Locale.ROOT, "%.0f", v))
                .collect(java.util.stream.Collectors.joining(", ", "(", ")"));
    }

    /** Continuous batching over the engine, no Flink, no Kafka: output tokens per second. */
    private double plainLoop(TetrisConfig config, List<String> prompts) throws Exception {
        try (BenchModels models =
                BenchModels.load(
                        config.models().draft(),
                        config.models().target(),
                        config.models().tokenizer(),
                        config.models().onnx())) {
            List<Workload.Request> requests = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                requests.add(
                        new Workload.Request(
                                "plain-" + i,
                                models.tokenizer().encode(prompts.get(i)),
                                SamplingParams.GREEDY,
                                0,
                                maxNewTokens));
            }
            return new BenchLoop(models)
                    .run(
                            new Workload(requests),
                            config.batch().maxRunning(),
                            config.policy().create(config.costModel()))
                    .tokensPerSecond();
        }
    }

    /** The job end to end: from the first request sent to the last token event received. */
    private double jobRun(EmbeddedJob job, List<String> prompts, String prefix) throws Exception {
        {
            AtomicLong tokens = new AtomicLong();
            AtomicLong lastEvent = new AtomicLong();
            Set<String> finished = ConcurrentHashMap.newKeySet();
            ResponseListener counter =
                    new ResponseListener() {
                        @Override
                        public void onToken(TokenEvent event) {
                            tokens.addAndGet(event.getTokenIds().size());
                            lastEvent.set(System.nanoTime());
                            if (event.getFinished()) {
                                finished.add(event.getRequestId());
                            }
                        }
                    };
            Set<String> ids = new LinkedHashSet<>();
            long start;
            try (GenerationClient client = job.client(counter)) {
                List<GenerationRequest> batch = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    String id = prefix + "-" + i;
                    ids.add(id);
                    batch.add(request(id, prompts.get(i), maxNewTokens));
                }
                start = System.nanoTime();
                client.sendAll(batch);
                client.awaitAll(ids, Duration.ofMinutes(30));
                while (!finished.containsAll(ids)) {
                    Thread.sleep(10);
                }
            }
            return tokens.get() / ((lastEvent.get() - start) / 1e9);
        }
    }

    private static GenerationRequest request(String id, String prompt, int maxNew) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt(prompt)
                .setMaxNewTokens(maxNew)
                .build();
    }
}
