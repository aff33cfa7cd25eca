package io.tetris.job.cli;

import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.Outcome;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.TetrisConfig;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Everything in one process: an in-process Kafka broker, the job on a local Flink, the bundled
 * models; sends prompts, streams the answers, prints a summary.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Start an in-process Kafka broker and the job on a local Flink with the bundled"
                    + " Llama-style models (models/llama/fp32; --models models for the faster"
                    + " byte-level pair), send sample prompts (or --prompt), stream the answers"
                    + " as their token events arrive, then print a summary per request and"
                    + " overall."
        })
final class DemoCommand implements Callable<Integer> {

    static final List<String> SAMPLE_PROMPTS =
            List.of(
                    "The quick brown fox",
                    "A computer is",
                    "Never trust a",
                    "Hacker culture",
                    "Once upon a time",
                    "The only thing");

    @Mixin EngineOptions engine;
    @Mixin SamplingOptions sampling;

    @Option(
            names = "--prompt",
            paramLabel = "TEXT",
            description = "A prompt to send (repeatable; default: six sample prompts).")
    List<String> prompts = new ArrayList<>();

    @Option(
            names = "--json",
            description = "Print one JSON object with the summary and results as the last line.")
    boolean json;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            description =
                    "Give up waiting for answers after this long (default: ${DEFAULT-VALUE}).",
            defaultValue = "600")
    long timeoutSeconds;

    /**
     * The demo's pair when none is given: the Llama-style one writes more readable text, and more
     * of it per second (about 300 characters/s against 170 for the byte-level pair's 48 tokens per
     * prompt on 2 cores), which is what a first run shows.
     */
    static final String DEMO_MODELS = "llama/fp32";

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        if (engine.models.models == null) {
            engine.models.models = ModelsOption.bundledModels().resolve(DEMO_MODELS);
        }
        Configuration conf = engine.configuration();
        TetrisConfig config = TetrisConfig.from(conf);
        List<String> texts = prompts.isEmpty() ? SAMPLE_PROMPTS : prompts;
        TopicNames topics = TopicNames.defaults();

        out.println("Starting Kafka (in-process) and the job (" + engine.policy + ") ...");
        try (EmbeddedJob job =
                EmbeddedJob.start(conf, config, engine.checkpointInterval, "tetris-demo")) {
            out.println("Ready. Sending " + texts.size() + " prompt(s).\n");
            Map<String, String> byId = new LinkedHashMap<>();
            for (int i = 0; i < texts.size(); i++) {
                byId.put("demo-" + (i + 1), texts.get(i));
            }
            List<String> ids = new ArrayList<>(byId.keySet());
            StreamPrinter printer =
                    StreamPrinter.transcript(out, byId, System.console() != null && !json);
            Map<String, Outcome> outcomes;
            long start;
            try (GenerationClient client = job.client(printer)) {
                start = System.nanoTime();
                for (Map.Entry<String, String> request : byId.entrySet()) {
                    client.send(sampling.request(request.getKey(), request.getValue()));
                }
                outcomes =
                        client.awaitAll(
                                new LinkedHashSet<>(ids), Duration.ofSeconds(timeoutSeconds));
            }
            printer.printTranscripts();
            double seconds = (System.nanoTime() - start) / 1e9;
            Summary summary = new Summary(ids, outcomes, seconds, engine.policy);
            summary.printTable(out);
            Map<String, Object> extra = new java.util.LinkedHashMap<>();
            if (!engine.failAtRounds.isEmpty()) {
                int restarts = job.restarts();
                extra.put("restarts", restarts);
                out.println("restarts: " + restarts);
            }
            if (json) {
                out.println(summary.json(extra));
            }
            return summary.errors() == 0 ? 0 : 1;
        }
    }
}
