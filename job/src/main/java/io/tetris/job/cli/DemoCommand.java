package io.tetris.job.cli;

import io.tetris.config.TetrisConfig;
import io.tetris.job.Topology;
import io.tetris.job.kafka.EmbeddedKafka;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.Outcome;
import io.tetris.job.kafka.ResponseListener;
import io.tetris.job.kafka.TopicNames;
import io.tetris.schemas.GenerationRequest;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
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
                    + " models, send sample prompts (or --prompt), stream the answers as their"
                    + " token events arrive, then print a summary per request and overall."
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

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Configuration conf = engine.configuration();
        TetrisConfig config = TetrisConfig.from(conf);
        List<String> texts = prompts.isEmpty() ? SAMPLE_PROMPTS : prompts;
        TopicNames topics = TopicNames.defaults();

        out.println("Starting Kafka (in-process) and the job (" + engine.policy + ") ...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(topics, config.batch().replicas());
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(config.batch().replicas());
            env.enableCheckpointing(engine.checkpointInterval);
            Topology.build(
                    env,
                    config,
                    new Topology.Io(
                            kafka.clientSettings(),
                            topics,
                            "tetris-demo",
                            "tetris-demo-" + UUID.randomUUID()));
            Topology.checkChained(env);
            JobClient job = env.executeAsync("tetris-demo");
            try {
                warmUp(kafka, topics);
                out.println("Ready. Sending " + texts.size() + " prompt(s).\n");
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    ids.add("demo-" + (i + 1));
                }
                Map<String, Outcome> outcomes;
                long start;
                try (GenerationClient client =
                        GenerationClient.open(
                                kafka.clientSettings(), topics, new StreamPrinter(out, ids))) {
                    start = System.nanoTime();
                    for (int i = 0; i < texts.size(); i++) {
                        client.send(sampling.request(ids.get(i), texts.get(i)));
                    }
                    outcomes =
                            client.awaitAll(
                                    new LinkedHashSet<>(ids), Duration.ofSeconds(timeoutSeconds));
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                out.println();
                Summary summary = new Summary(ids, outcomes, seconds, engine.policy);
                summary.printTable(out);
                if (json) {
                    out.println(summary.json(Map.of()));
                }
                return summary.errors() == 0 ? 0 : 1;
            } finally {
                job.cancel().get();
            }
        }
    }

    /**
     * One one-token request, so model loading and the first checkpoint are not counted in the
     * throughput of the real prompts.
     */
    private static void warmUp(EmbeddedKafka kafka, TopicNames topics) throws Exception {
        try (GenerationClient client =
                GenerationClient.open(
                        kafka.clientSettings(), topics, ResponseListener.ignoring())) {
            GenerationRequest warm =
                    GenerationRequest.newBuilder()
                            .setRequestId("warm-up")
                            .setPrompt("Hi")
                            .setMaxNewTokens(1)
                            .build();
            client.send(warm);
            client.awaitAll(Set.of("warm-up"), Duration.ofMinutes(5));
        }
    }
}
