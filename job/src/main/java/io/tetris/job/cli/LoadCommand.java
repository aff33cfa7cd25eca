package io.tetris.job.cli;

import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.Outcome;
import io.tetris.job.kafka.ResponseListener;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.GenerationRequest;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Load benchmark: a burst of requests into the embedded job with a bounded running batch and
 * waiting queue; reports completion, errors, throughput, the heap's peak and progress.
 */
@Command(
        name = "load",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark: send a burst of requests at once to the embedded job and report whether"
                    + " all complete, the peak heap, and progress while backpressure holds the"
                    + " rest in Kafka."
        })
final class LoadCommand implements Callable<Integer> {

    @Mixin EngineOptions engine;

    @Option(
            names = "--requests",
            description = "Requests in the burst (default: ${DEFAULT-VALUE}).",
            defaultValue = "5000")
    int requests;

    @Option(
            names = "--max-new-tokens",
            description = "Tokens per request (default: ${DEFAULT-VALUE}).",
            defaultValue = "16")
    int maxNewTokens;

    @Override
    public Integer call() throws Exception {
        Configuration conf = engine.configuration();
        TetrisConfig config = TetrisConfig.from(conf);
        System.out.printf(
                Locale.ROOT,
                "burst of %d requests x %d tokens, running batch %d, waiting queue %d (%s)%n",
                requests,
                maxNewTokens,
                config.batch().maxRunning(),
                config.batch().maxWaiting(),
                config.batch().queueFull().name().toLowerCase(Locale.ROOT));
        try (EmbeddedJob job =
                EmbeddedJob.start(conf, config, engine.checkpointInterval, "tetris-load")) {
            List<MemoryPoolMXBean> heap = new ArrayList<>();
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    pool.resetPeakUsage();
                    heap.add(pool);
                }
            }
            AtomicInteger finished = new AtomicInteger();
            ResponseListener progress =
                    new ResponseListener() {
                        @Override
                        public void onResult(io.tetris.schemas.GenerationResult result) {
                            finished.incrementAndGet();
                        }

                        @Override
                        public void onError(io.tetris.schemas.GenerationError error) {
                            finished.incrementAndGet();
                        }
                    };
            Set<String> ids = new LinkedHashSet<>();
            List<GenerationRequest> burst = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                String id = "load-" + i;
                ids.add(id);
                burst.add(
                        GenerationRequest.newBuilder()
                                .setRequestId(id)
                                .setPrompt(
                                        DemoCommand.SAMPLE_PROMPTS.get(
                                                i % DemoCommand.SAMPLE_PROMPTS.size()))
                                .setMaxNewTokens(maxNewTokens)
                                .setTemperature(i % 2 == 0 ? 0f : 0.8f)
                                .setSeed(i)
                                .build());
            }
            long start = System.nanoTime();
            Map<String, Outcome> outcomes;
            try (GenerationClient client = job.client(progress)) {
                client.sendAll(burst);
                System.out.printf(
                        Locale.ROOT,
                        "sent %d requests in %.1f s%n",
                        requests,
                        (System.nanoTime() - start) / 1e9);
                Thread reporter =
                        new Thread(
                                () -> {
                                    try {
                                        while (true) {
                                            Thread.sleep(10_000);
                                            System.out.printf(
                                                    Locale.ROOT,
                                                    "  %5.0f s: %d of %d answered, heap %d MiB%n",
                                                    (System.nanoTime() - start) / 1e9,
                                                    finished.get(),
                                                    requests,
                                                    usedHeap(heap) >> 20);
                                        }
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    }
                                },
                                "load-progress");
                reporter.setDaemon(true);
                reporter.start();
                outcomes = client.awaitAll(ids, Duration.ofHours(2));
                reporter.interrupt();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long completed =
                    outcomes.values().stream().filter(o -> o instanceof Outcome.Completed).count();
            long errors = outcomes.size() - completed;
            long tokens =
                    outcomes.values().stream()
                            .filter(o -> o instanceof Outcome.Completed)
                            .mapToLong(o -> ((Outcome.Completed) o).result().getTokenIds().size())
                            .sum();
            long peak = 0;
            for (MemoryPoolMXBean pool : heap) {
                peak += pool.getPeakUsage().getUsed();
            }
            System.out.printf(
                    Locale.ROOT,
                    "%d of %d completed, %d errors, %d output tokens in %.1f s (%.1f tokens/s);"
                            + " peak heap %d MiB of %d MiB%n",
                    completed,
                    requests,
                    errors,
                    tokens,
                    seconds,
                    tokens / seconds,
                    peak >> 20,
                    Runtime.getRuntime().maxMemory() >> 20);
            return completed + errors == requests ? 0 : 1;
        }
    }

    private static long usedHeap(List<MemoryPoolMXBean> heap) {
        long used = 0;
        for (MemoryPoolMXBean pool : heap) {
            used += pool.getUsage().getUsed();
        }
        return used;
    }
}
