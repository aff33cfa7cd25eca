package io.tetris.job.cli;

import io.tetris.job.gateway.Gateway;
import io.tetris.job.gateway.GatewayConfig;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** An OpenAI-compatible HTTP front end to a running job. */
@Command(
        name = "gateway",
        mixinStandardHelpOptions = true,
        description = {
            "Serve the OpenAI completions API (POST /v1/completions, streamed or not; GET"
                    + " /v1/models) in front of a running job: each HTTP request becomes one"
                    + " request on the requests topic, answered from its token events, result or"
                    + " error. Runs until stopped. Started before Kafka or the job's topics exist,"
                    + " it waits for them, answering completions 503 NOT_READY until then."
        })
final class GatewayCommand implements Callable<Integer> {

    @Mixin KafkaOptions kafka;

    @Option(
            names = "--host",
            description =
                    "Address to listen on; 0.0.0.0 for every interface. The gateway has no"
                            + " authentication (default: ${DEFAULT-VALUE}).",
            defaultValue = GatewayConfig.DEFAULT_HOST)
    String host;

    @Option(
            names = "--port",
            description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).",
            defaultValue = "" + GatewayConfig.DEFAULT_PORT)
    int port;

    @Option(
            names = "--served-model-name",
            paramLabel = "NAME",
            description =
                    "The model name clients send and /v1/models lists (default: ${DEFAULT-VALUE}).",
            defaultValue = GatewayConfig.DEFAULT_MODEL_NAME)
    String servedModelName;

    @Option(
            names = "--request-timeout",
            paramLabel = "SECONDS",
            description =
                    "Longest wait for the job's answer to one HTTP request, then 504"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "300")
    double requestTimeoutSeconds;

    @Option(
            names = "--max-in-flight",
            description =
                    "HTTP requests waiting for the job at once; more are answered 429"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "" + GatewayConfig.DEFAULT_MAX_IN_FLIGHT)
    int maxInFlight;

    @Option(
            names = "--default-max-tokens",
            description =
                    "max_tokens of a request that does not give it, as OpenAI's 16"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "" + GatewayConfig.DEFAULT_MAX_TOKENS)
    int defaultMaxTokens;

    @Option(
            names = "--max-body-bytes",
            description = "Largest request body; larger ones get 413 (default: ${DEFAULT-VALUE}).",
            defaultValue = "" + GatewayConfig.DEFAULT_MAX_BODY_BYTES)
    int maxBodyBytes;

    @Override
    public Integer call() throws InterruptedException {
        GatewayConfig config = config();
        CountDownLatch stopped = new CountDownLatch(1);
        Gateway gateway = Gateway.start(config, kafka.settings(), kafka.topics());
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    gateway.close();
                                    stopped.countDown();
                                },
                                "gateway-shutdown"));
        System.err.println(
                "tetris gateway: model '"
                        + config.servedModelName()
                        + "' at "
                        + gateway.baseUrl()
                        + " (Kafka: "
                        + kafka.settings().describe()
                        + ", requests to "
                        + kafka.topics().requests()
                        + ")");
        stopped.await();
        return 0;
    }

    GatewayConfig config() {
        if (!(requestTimeoutSeconds > 0) || Double.isInfinite(requestTimeoutSeconds)) {
            throw new IllegalArgumentException(
                    "--request-timeout must be a positive number of seconds, got "
                            + requestTimeoutSeconds);
        }
        return new GatewayConfig(
                host,
                port,
                servedModelName,
                Duration.ofMillis(Math.max(1, Math.round(requestTimeoutSeconds * 1000))),
                maxInFlight,
                defaultMaxTokens,
                maxBodyBytes);
    }
}
