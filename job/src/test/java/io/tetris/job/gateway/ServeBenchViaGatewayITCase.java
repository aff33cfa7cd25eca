package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.TopicReader;
import io.tetris.job.cli.Main;
import io.tetris.model.BundledModels;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./tetris bench serve --via-gateway}: the open-loop bench through a real gateway in front
 * of a running job, streamed, at a low rate.
 */
class ServeBenchViaGatewayITCase {

    private static final String MODEL = "tetris-bench";
    private static final int REQUESTS = 5;

    private static GatewayWithJob running;

    @BeforeAll
    static void startJobAndGateway() throws Exception {
        running = GatewayWithJob.start("bench-gateway", BundledModelsConfig.configuration(), MODEL);
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    @Test
    void everyRequestCompletesThroughTheGatewayTimedAndCountedAtTheClient(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("serve");
        GatewayStats before = running.gateway.stats();
        Captured run =
                capture(
                        "bench",
                        "serve",
                        "--models",
                        BundledModels.dir().toString(),
                        "--via-gateway",
                        running.gateway.baseUrl(),
                        "--label",
                        "gw",
                        "--rates",
                        "2",
                        "--requests",
                        Integer.toString(REQUESTS),
                        "--repeats",
                        "1",
                        "--output-tokens",
                        "6:10",
                        "--output",
                        out.toString());
        assertThat(run.code).as(run.stderr).isZero();

        // Through the gateway, streamed: it answered every request, none failed.
        GatewayStats after = running.gateway.stats();
        assertThat(after.completed() - before.completed()).isEqualTo(REQUESTS);
        assertThat(after.failed()).isEqualTo(before.failed());

        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertThat(csv).hasSize(2);
        Map<String, String> row = new HashMap<>();
        String[] names = csv.get(0).split(",");
        String[] values = csv.get(1).split(",");
        for (int i = 0; i < names.length; i++) {
            row.put(names[i], values[i]);
        }
        assertThat(row.get("policy")).isEqualTo("gw");
        assertThat(row.get("sent")).isEqualTo(Integer.toString(REQUESTS));
        assertThat(row.get("completed")).isEqualTo(Integer.toString(REQUESTS));
        assertThat(row.get("errors")).isEqualTo("0");
        // TTFT is above 0 and within the end-to-end latency, quantile by quantile.
        for (String q : List.of("p50", "p90", "p99")) {
            double ttft = Double.parseDouble(row.get("ttft_" + q + "_ms"));
            assertThat(ttft).as("TTFT %s", q).isPositive();
            assertThat(ttft)
                    .as("TTFT %s", q)
                    .isLessThanOrEqualTo(Double.parseDouble(row.get("e2e_" + q + "_ms")));
        }
        // The tokens counted at the client are those the job generated, no more, no fewer.
        long generated = 0;
        for (GenerationResult result : awaitResults()) {
            // At most what was asked; none where the first token drawn ended the text.
            assertThat(result.getTokenIds().size()).isBetween(0, 10);
            generated += result.getTokenIds().size();
        }
        assertThat(generated).isPositive();
        assertThat(Long.parseLong(row.get("output_tokens"))).isEqualTo(generated);

        String md = Files.readString(out.resolve("results.md"), StandardCharsets.UTF_8);
        assertThat(md).contains("behind the gateway at " + running.gateway.baseUrl());
        assertThat(md).containsPattern("\\| gw \\| 2 \\| 1 \\| 5 / 5 \\|");
    }

    @Test
    void aGatewayThatIsNotThereFailsAtOnceSayingWhatToCheck(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        long started = System.nanoTime();
        Captured run =
                capture(
                        "bench",
                        "serve",
                        "--models",
                        BundledModels.dir().toString(),
                        "--via-gateway",
                        "http://127.0.0.1:" + port + "/v1",
                        "--output",
                        dir.resolve("serve").toString());
        assertThat(run.code).isEqualTo(2);
        assertThat(run.stderr)
                .contains("cannot reach the gateway at http://127.0.0.1:" + port + "/v1")
                .contains("./tetris gateway");
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .isLessThan(Duration.ofSeconds(20));
        assertThat(dir.resolve("serve")).doesNotExist();
    }

    /** The job's results on this class's topics, once all {@link #REQUESTS} are committed. */
    private static List<GenerationResult> awaitResults() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            List<GenerationResult> results =
                    TopicReader.readAll(running.kafka, running.topics.results()).stream()
                            .map(v -> SingleObjectCodec.RESULT.decode(v).toOptional().orElseThrow())
                            .toList();
            if (results.size() >= REQUESTS) {
                assertThat(results).hasSize(REQUESTS);
                return results;
            }
            assertThat(System.nanoTime()).as("%d results", REQUESTS).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private record Captured(int code, String stderr) {}

    /** Runs a command line with its stderr captured (and still shown, for the build log). */
    private static synchronized Captured capture(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        OutputStream both =
                new OutputStream() {
                    @Override
                    public void write(int b) {
                        err.write(b);
                        stderr.write(b);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) {
                        err.write(b, off, len);
                        stderr.write(b, off, len);
                    }
                };
        System.setErr(new PrintStream(both, true, StandardCharsets.UTF_8));
        try {
            return new Captured(Main.run(args), stderr.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(err);
        }
    }
}
