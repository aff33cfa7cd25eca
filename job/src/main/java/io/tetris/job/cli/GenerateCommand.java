package io.tetris.job.cli;

import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.Outcome;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A client: sends one request to the requests topic and streams the answer. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Send one prompt to a running job through Kafka and stream the answer as its token"
                    + " events arrive."
        })
final class GenerateCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Mixin KafkaOptions kafka;
    @Mixin SamplingOptions sampling;

    @Option(names = "--request-id", description = "Id of the request (default: a random one).")
    String requestId;

    @Option(names = "--json", description = "Print the result as one JSON object as the last line.")
    boolean json;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            description = "Give up after this long (default: ${DEFAULT-VALUE}).",
            defaultValue = "300")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        String id = requestId != null ? requestId : "gen-" + UUID.randomUUID();
        Map<String, Outcome> outcomes;
        long start = System.nanoTime();
        try (GenerationClient client =
                GenerationClient.open(
                        kafka.settings(),
                        kafka.topics(),
                        StreamPrinter.streaming(System.out, id))) {
            client.send(sampling.request(id, prompt));
            outcomes = client.awaitAll(Set.of(id), Duration.ofSeconds(timeoutSeconds));
        }
        System.out.println();
        Summary summary = new Summary(List.of(id), outcomes, (System.nanoTime() - start) / 1e9, "");
        if (outcomes.get(id) instanceof Outcome.Completed c) {
            System.err.printf(
                    "[%s] %s after %d tokens; acceptance %.3f, mean acceptance length %.3f%n",
                    id,
                    c.result().getFinishReason(),
                    c.result().getTokenIds().size(),
                    c.result().getSpeculation().getAcceptanceRate(),
                    c.result().getSpeculation().getMeanAcceptanceLength());
        }
        if (json) {
            System.out.println(summary.json(Map.of()));
        }
        return summary.errors() == 0 ? 0 : 1;
    }
}
