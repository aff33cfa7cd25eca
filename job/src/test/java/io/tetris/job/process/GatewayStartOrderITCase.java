package io.tetris.job.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tetris.job.gateway.OpenAiNodeClient;
import io.tetris.job.kafka.TopicArgs;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.BundledModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code tetris serve} and {@code tetris gateway} started together in either order, as compose,
 * Kubernetes or a script would: each its own OS process against a broker process, and the official
 * OpenAI client (Node.js) completes through the gateway within a minute of both being started.
 *
 * <p>Started first, the gateway finds neither topic until {@code serve --create-topics} makes them:
 * it must say what it waits for and keep waiting, not exit. The client uses its own retries, as
 * OpenAI clients do by default: the gateway answers 503 with {@code Retry-After} until it is ready.
 */
class GatewayStartOrderITCase {

    private static final Duration WITHIN = Duration.ofMinutes(1);

    // Kept after the run (under the build directory): the processes' logs explain a failure.
    private static Path dir;
    private static BrokerProcess broker;

    @BeforeAll
    static void startBroker() throws Exception {
        dir = Files.createTempDirectory("gateway-start-order-");
        broker = BrokerProcess.start(dir.resolve("broker"));
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void gatewayStartedBeforeServeWaitsForTheTopicsAndThenServes() throws Exception {
        String name = "gateway-first";
        TopicNames topics = TopicNames.withPrefix(name);
        int port = BrokerProcess.freePort();
        try (ChildJvm gateway = gateway(name, topics, port)) {
            // No topic exists yet: the gateway says which ones it waits for and keeps running.
            gateway.awaitLog(
                    "gateway waiting for Kafka topics " + String.join(", ", topics.all()), WITHIN);
            long started = System.nanoTime();
            try (ChildJvm serve = serve(name, topics)) {
                completeWithin(port, started, gateway, serve);
            }
        }
    }

    @Test
    void serveStartedBeforeTheGatewayServesThroughIt() throws Exception {
        String name = "serve-first";
        TopicNames topics = TopicNames.withPrefix(name);
        int port = BrokerProcess.freePort();
        try (ChildJvm serve = serve(name, topics)) {
            long started = System.nanoTime();
            try (ChildJvm gateway = gateway(name, topics, port)) {
                completeWithin(port, started, gateway, serve);
            }
        }
    }

    /**
     * One completion with the official client, timed from {@code started}, the start of the second
     * process.
     */
    private static void completeWithin(int port, long started, ChildJvm gateway, ChildJvm serve)
            throws Exception {
        JsonNode completion;
        try {
            completion =
                    new OpenAiNodeClient("http://127.0.0.1:" + port + "/v1")
                            .run(
                                    "complete-retrying",
                                    "{\"model\": \"tetris\", \"prompt\": \"Once upon a time\","
                                            + " \"max_tokens\": 8, \"temperature\": 0}");
        } catch (AssertionError e) {
            throw new AssertionError(
                    e.getMessage() + "\ngateway " + gateway.tail() + "\nserve " + serve.tail(), e);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        System.out.println("completion after " + took.toMillis() + " ms: " + completion);
        assertThat(took).as("time to the first completion").isLessThan(WITHIN);
        assertThat(completion.get("object").asText()).isEqualTo("text_completion");
        JsonNode choice = completion.get("choices").get(0);
        assertThat(choice.get("finish_reason").asText()).isIn("length", "stop");
        assertThat(completion.get("usage").get("completion_tokens").asInt()).isPositive();
        assertThat(gateway.isAlive()).isTrue();
        assertThat(serve.isAlive()).isTrue();
    }

    /** {@code tetris gateway} as a user starts it, on the test's topics. */
    private static ChildJvm gateway(String name, TopicNames topics, int port) throws Exception {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "gateway",
                                "--bootstrap-servers",
                                broker.settings().bootstrapServers(),
                                "--port",
                                Integer.toString(port),
                                "--request-timeout",
                                Long.toString(WITHIN.toSeconds())));
        args.addAll(TopicArgs.of(topics));
        return ChildJvm.start(
                dir.resolve(name + "-gateway.log"), "256m", "io.tetris.job.cli.Main", args);
    }

    /** {@code tetris serve}, which creates the topics; its own state, group and transactions. */
    private static ChildJvm serve(String name, TopicNames topics) throws Exception {
        return ServeCommandLine.start(
                dir.resolve(name + "-serve.log"),
                ServeCommandLine.of(
                        broker,
                        topics,
                        BundledModels.dir(),
                        dir.resolve(name + "-state"),
                        "--create-topics",
                        "--group-id",
                        name,
                        "--transactional-id-prefix",
                        name + "-results",
                        "--checkpoint-interval",
                        "500"));
    }
}
