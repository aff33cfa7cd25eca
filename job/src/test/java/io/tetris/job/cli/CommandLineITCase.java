package io.tetris.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.job.Topology;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicArgs;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.BundledModels;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code tetris} commands as a user runs them, output captured. */
class CommandLineITCase {

    @Test
    void demoPrintsOneJsonSummaryLastWithTheGeneratedContinuations() throws Exception {
        Captured run =
                capture(
                        "demo",
                        "--models",
                        BundledModels.dir().toString(),
                        "--prompt",
                        "Hello, world",
                        "--prompt",
                        "A computer is",
                        "--max-new-tokens",
                        "6",
                        "--json");
        assertThat(run.code).isZero();
        JsonNode summary = new ObjectMapper().readTree(run.lastLine());
        assertThat(summary.get("requests").asInt()).isEqualTo(2);
        assertThat(summary.get("completed").asInt()).isEqualTo(2);
        assertThat(summary.get("errors").asInt()).isZero();
        assertThat(summary.get("policy").asText()).isEqualTo("tetris");
        assertThat(summary.get("output_tokens").asInt()).isBetween(2, 12);
        assertThat(summary.get("tokens_per_second").asDouble()).isPositive();
        assertThat(summary.get("acceptance_rate").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.get("mean_acceptance_length").asDouble()).isGreaterThanOrEqualTo(1.0);
        for (JsonNode result : summary.get("results")) {
            StringBuilder bytes = new StringBuilder();
            byte[] raw = new byte[result.get("token_ids").size()];
            for (int i = 0; i < raw.length; i++) {
                raw[i] = (byte) result.get("token_ids").get(i).asInt();
            }
            bytes.append(new String(raw, StandardCharsets.UTF_8));
            // Continuation only: the text is the decoded token ids, not the prompt.
            assertThat(result.get("text").asText()).isEqualTo(bytes.toString());
            assertThat(result.get("text").asText()).doesNotStartWith("Hello, world");
        }
        assertThat(run.stdout).contains("mean acceptance length");
    }

    @Test
    void demoWithAFailureReportsTheRestartAndTheSameResults() throws Exception {
        String[] args = {
            "demo",
            "--models",
            BundledModels.dir().toString(),
            "--prompt",
            "Never trust a",
            "--prompt",
            "Hacker culture",
            "--max-new-tokens",
            "24",
            "--temperature",
            "0.8",
            "--seed",
            "3",
            "--json"
        };
        JsonNode clean = new ObjectMapper().readTree(capture(args).lastLine());
        String[] failing = java.util.Arrays.copyOf(args, args.length + 2);
        failing[args.length] = "--fail-at-round";
        failing[args.length + 1] = "4";
        Captured run = capture(failing);
        assertThat(run.code).isZero();
        JsonNode recovered = new ObjectMapper().readTree(run.lastLine());
        assertThat(recovered.get("restarts").asInt()).isEqualTo(1);
        assertThat(clean.has("restarts")).isFalse();
        assertThat(recovered.get("results")).isEqualTo(clean.get("results"));
    }

    @Test
    void generateStreamsTheAnswerOfARunningJob() throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics("cli-generate", 1);
        Configuration conf = BundledModelsConfig.configuration();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        env.enableCheckpointing(300);
        Topology.build(
                env,
                TetrisConfig.from(conf),
                new Topology.Io(kafka, topics, "cli", "cli-" + UUID.randomUUID()));
        JobClient job = env.executeAsync("cli-generate");
        try {
            Captured run =
                    capture(
                            "generate",
                            "Once upon a time",
                            "--bootstrap-servers",
                            kafka.bootstrapServers(),
                            "--requests-topic",
                            topics.requests(),
                            "--tokens-topic",
                            topics.tokens(),
                            "--results-topic",
                            topics.results(),
                            "--errors-topic",
                            topics.errors(),
                            "--max-new-tokens",
                            "10",
                            "--request-id",
                            "cli-1",
                            "--json");
            assertThat(run.code).isZero();
            JsonNode result = new ObjectMapper().readTree(run.lastLine()).get("results").get(0);
            assertThat(result.get("request_id").asText()).isEqualTo("cli-1");
            // The streamed text precedes the JSON line.
            assertThat(run.stdout).startsWith(result.get("text").asText());
        } finally {
            job.cancel().get();
        }
    }

    @Test
    void gatewayServesTheOpenAiModelsRouteAndRefusesBadSettings() throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics("cli-gateway", 1);
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        String[] args =
                concat(
                        new String[] {
                            "gateway",
                            "--bootstrap-servers",
                            kafka.bootstrapServers(),
                            "--port",
                            String.valueOf(port),
                            "--served-model-name",
                            "cli-model"
                        },
                        TopicArgs.of(topics).toArray(new String[0]));
        Thread gateway = new Thread(() -> Main.run(args), "gateway-command");
        // Serves until the test JVM ends; nothing waits for this thread.
        gateway.setDaemon(true);
        gateway.start();
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest models =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
                        .build();
        String body = null;
        for (int attempt = 0; attempt < 100 && body == null; attempt++) {
            try {
                body = http.send(models, HttpResponse.BodyHandlers.ofString()).body();
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        assertThat(body).isNotNull();
        assertThat(new ObjectMapper().readTree(body).get("data").get(0).get("id").asText())
                .isEqualTo("cli-model");

        Captured badTimeout =
                capture(
                        "gateway",
                        "--bootstrap-servers",
                        kafka.bootstrapServers(),
                        "--request-timeout",
                        "0");
        assertThat(badTimeout.code).isEqualTo(2);
        assertThat(badTimeout.stderr)
                .contains("--request-timeout must be a positive number of seconds");
        Captured badPort =
                capture("gateway", "--bootstrap-servers", kafka.bootstrapServers(), "--port", "-1");
        assertThat(badPort.code).isEqualTo(2);
        assertThat(badPort.stderr).contains("--port must be in 0..65535, got -1");
    }

    @Test
    void serveCreatesTopicsAndAnswersGenerate() throws Exception {
        // Not a @TempDir: the job keeps checkpointing there until the test JVM ends.
        Path state = Files.createTempDirectory("cli-serve-state-");
        KafkaClientSettings kafka = SharedKafka.settings();
        String prefix = "cli-serve-" + UUID.randomUUID().toString().substring(0, 8);
        String[] topicArgs = {
            "--requests-topic", prefix + ".requests",
            "--tokens-topic", prefix + ".tokens",
            "--results-topic", prefix + ".results",
            "--errors-topic", prefix + ".errors"
        };
        Thread serve =
                new Thread(
                        () ->
                                Main.run(
                                        concat(
                                                new String[] {
                                                    "serve",
                                                    "--models",
                                                    BundledModels.dir().toString(),
                                                    "--bootstrap-servers",
                                                    kafka.bootstrapServers(),
                                                    "--create-topics",
                                                    "--partitions",
                                                    "1",
                                                    "--checkpoint-interval",
                                                    "300",
                                                    "--group-id",
                                                    prefix,
                                                    "--state-dir",
                                                    state.toUri().toString()
                                                },
                                                topicArgs)),
                        "serve-command");
        // The local job runs until the test JVM ends; nothing waits for this thread.
        serve.setDaemon(true);
        serve.start();
        Captured run = null;
        for (int attempt = 0; attempt < 60 && (run == null || run.code != 0); attempt++) {
            // Until serve has created the topics, generate fails fast naming the missing topic.
            Thread.sleep(run == null ? 0 : 1000);
            run =
                    capture(
                            concat(
                                    new String[] {
                                        "generate",
                                        "Hello",
                                        "--bootstrap-servers",
                                        kafka.bootstrapServers(),
                                        "--max-new-tokens",
                                        "5",
                                        "--json",
                                        "--timeout",
                                        "120"
                                    },
                                    topicArgs));
        }
        assertThat(run.code).as(run.stderr).isZero();
        JsonNode summary = new ObjectMapper().readTree(run.lastLine());
        assertThat(summary.get("completed").asInt()).isEqualTo(1);
        assertThat(summary.get("results").get(0).get("token_ids").size()).isBetween(1, 5);

        // The open-loop benchmark against this running job instead of an embedded one.
        Path out = Files.createTempDirectory("cli-bench-serve-");
        Captured bench =
                capture(
                        concat(
                                new String[] {
                                    "bench",
                                    "serve",
                                    "--models",
                                    BundledModels.dir().toString(),
                                    "--bootstrap-servers",
                                    kafka.bootstrapServers(),
                                    "--label",
                                    "running",
                                    "--rates",
                                    "4",
                                    "--requests",
                                    "4",
                                    "--repeats",
                                    "1",
                                    "--output-tokens",
                                    "3:5",
                                    "--output",
                                    out.toString()
                                },
                                topicArgs));
        assertThat(bench.code).as(bench.stderr).isZero();
        String md = Files.readString(out.resolve("results.md"), StandardCharsets.UTF_8);
        assertThat(md).contains("(labelled running)");
        assertThat(md).containsPattern("\\| running \\| 4 \\| 1 \\| 4 / 4 \\|");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void modelsCheckGivesAVerdictAndADemoOnAPairThatCannotRunEndsWithItsError(@TempDir Path dir)
            throws Exception {
        Captured bundled = capture("models", "check", BundledModels.dir().toString());
        assertThat(bundled.code).as(bundled.stderr).isZero();
        assertThat(bundled.stdout)
                .contains("4 layers, 4 KV heads of size 32, fp32 caches, vocabulary 257")
                .contains("verdict: usable");
        // A draft in a folder of its own is checked with the tokenizer beside it.
        Path other = Files.createDirectories(dir.resolve("other-family"));
        Files.copy(BundledModels.dir().resolve("draft.onnx"), other.resolve("draft.onnx"));
        Files.writeString(
                other.resolve("tokenizer.json"),
                Files.readString(BundledModels.dir().resolve("tokenizer.json"))
                        .replace("\"<|endoftext|>\"", "\"<eos>\""));
        Captured mixed =
                capture(
                        "models",
                        "check",
                        "--draft",
                        other.resolve("draft.onnx").toString(),
                        "--target",
                        BundledModels.dir().resolve("target.onnx").toString(),
                        "--tokenizer",
                        BundledModels.dir().resolve("tokenizer.json").toString());
        assertThat(mixed.code).isEqualTo(1);
        assertThat(mixed.stdout).contains("draft and target tokenizers differ");
        Path broken = io.tetris.model.BrokenModels.pairWithBrokenTarget(dir.resolve("broken"));
        Captured check = capture("models", "check", broken.toString());
        assertThat(check.code).isEqualTo(1);
        assertThat(check.stdout)
                .contains("verdict: NOT usable")
                .contains(broken.resolve("target.onnx") + " loads but its first forward pass");
        // The job ends once with the model's error instead of restarting until killed.
        long started = System.nanoTime();
        Captured demo = capture("demo", "--models", broken.toString(), "--prompt", "Hi", "--json");
        assertThat(demo.code).isEqualTo(2);
        assertThat(demo.stderr)
                .contains("the job failed: the model " + broken.resolve("target.onnx"))
                .contains("broken.reshape");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMinutes(2));
    }

    @Test
    void modelsWidenWritesACheckedWidenedPairThatModelsCheckTells(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("wide");
        Captured widen =
                capture(
                        "models",
                        "widen",
                        BundledModels.dir().toString(),
                        "--factor",
                        "2",
                        "--out",
                        out.toString(),
                        "--check-prompts",
                        "2",
                        "--check-tokens",
                        "8");
        assertThat(widen.code).as(widen.stdout + widen.stderr).isZero();
        assertThat(widen.stdout)
                .contains("4 -> 8 heads")
                .contains("16 steps: max |delta log p| = ")
                .contains("greedy differs at 0")
                .contains("Done: " + out);
        assertThat(out.resolve("draft.onnx")).exists();
        assertThat(out.resolve("tokenizer.json")).exists();
        Captured check = capture("models", "check", out.toString());
        assertThat(check.code).as(check.stderr).isZero();
        assertThat(check.stdout)
                .contains("target: widened x2 from models/target.onnx (sha256 ")
                .contains("4 layers, 8 KV heads of size 32")
                .contains("verdict: usable");
    }

    @Test
    void modelsPassesTimesEachShapeOnBothRunners() throws Exception {
        Captured passes =
                capture(
                        "models",
                        "passes",
                        BundledModels.dir().toString(),
                        "--batch",
                        "4",
                        "--k",
                        "2",
                        "--context",
                        "32",
                        "--repeats",
                        "3");
        assertThat(passes.code).as(passes.stdout + passes.stderr).isZero();
        assertThat(passes.stdout)
                .contains("batch 4, 32 cached tokens per row, 3 passes each")
                .contains("| plain decoding | [0, 0, 0, 0] | 4 (4) |")
                .contains("| fixed k=2 | [2, 2, 2, 2] | 12 (12) |")
                .contains("| ragged, same budget | [4, 3, 1, 0] | 12 (20) |")
                .contains("| one row of 4 | [4, 0, 0, 0] | 8 (20) |");
    }

    @Test
    void modelsWidenWidensTheFp16LlamaPairWithItsConfigurationAndDraftData(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("wide");
        Captured widen =
                capture(
                        "models",
                        "widen",
                        BundledModels.dir().resolve("llama/fp16").toString(),
                        "--factor",
                        "2",
                        "--out",
                        out.toString(),
                        "--check-prompts",
                        "2",
                        "--check-tokens",
                        "8");
        assertThat(widen.code).as(widen.stdout + widen.stderr).isZero();
        assertThat(widen.stdout)
                .contains("4 -> 8 heads, 2 -> 4 KV heads")
                .contains("config_target.json num_key_value_heads 2 -> 4")
                .contains("(tolerance 5e-02, fp16 weights), greedy differs at 0")
                .contains("Done: " + out);
        for (String file :
                new String[] {
                    "target.onnx.data",
                    "draft.onnx",
                    "draft.onnx.data",
                    "config_draft.json",
                    "tokenizer_config.json"
                }) {
            assertThat(out.resolve(file)).exists();
        }
        Captured check = capture("models", "check", out.toString());
        assertThat(check.code).as(check.stderr).isZero();
        assertThat(check.stdout)
                .contains("target: widened x2 from models/llama/fp16/target.onnx (sha256 ")
                .contains("4 layers, 4 KV heads (8 query heads) of size 32, fp16 caches")
                .contains("verdict: usable");
    }

    @Test
    void badSettingsFailWithTheOptionNamedAndExitCode2() {
        Captured run =
                capture("demo", "--models", BundledModels.dir().toString(), "--policy", "tetrys");
        assertThat(run.code).isEqualTo(2);
        assertThat(run.stderr).contains("unknown policy 'tetrys'");
    }

    @Test
    void benchServeSendsAtARateAndSetsTheClientAgainstTheJobsHistograms(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("serve");
        Captured run =
                capture(
                        "bench",
                        "serve",
                        "--models",
                        BundledModels.dir().toString(),
                        "--policies",
                        "none,tetris:2:1",
                        "--rates",
                        "8",
                        "--requests",
                        "8",
                        "--repeats",
                        "1",
                        "--output-tokens",
                        "4:8",
                        "--output",
                        out.toString());
        assertThat(run.code).as(run.stderr).isZero();
        String md = Files.readString(out.resolve("results.md"), StandardCharsets.UTF_8);
        // Every request of both policies answered, each row with its latencies.
        assertThat(md).containsPattern("\\| none \\| 8 \\| 1 \\| 8 / 8 \\|");
        assertThat(md).containsPattern("\\| tetris k=2 e=1 \\| 8 \\| 1 \\| 8 / 8 \\|");
        assertThat(md).contains("## Sustained rate within the objective");
        // The job's histograms were scraped and compared: 2 policies x 3 latencies x 2 quantiles.
        assertThat(md).containsPattern("Agreement: \\d+ of 12\\.");
        assertThat(Files.readAllLines(out.resolve("results.csv"))).hasSize(3);
        for (String chart : List.of("ttft-p99.png", "itl-p99.png", "goodput.png")) {
            assertThat(out.resolve(chart)).isNotEmptyFile();
        }
    }

    @Test
    void benchQuickMeasuresEveryPolicyWritesReportsAndReplaysItsTrace(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("bench");
        String models = BundledModels.dir().toString();
        Captured run =
                capture(
                        "bench",
                        "--quick",
                        "--json",
                        "--models",
                        models,
                        "--batches",
                        "2,4",
                        "--max-new-tokens",
                        "6",
                        "--output",
                        out.toString());
        assertThat(run.code).as(run.stderr).isZero();
        JsonNode root = new ObjectMapper().readTree(run.lastLine());
        Set<String> policies = new HashSet<>();
        Map<String, Integer> perWorkload = new HashMap<>();
        for (JsonNode c : root.get("configs")) {
            perWorkload.merge(c.get("workload").asText(), 1, Integer::sum);
            if (c.get("workload").asText().contains("projection")) {
                continue;
            }
            policies.add(c.get("policy").asText());
            assertThat(c.get("tokens_per_second").asDouble()).isPositive();
            assertThat(c.get("tokens_per_second_runs")).hasSize(3);
            assertThat(c.get("batch").asInt()).isIn(2, 4);
            assertThat(c.has("verification_success_rate")).isTrue();
            assertThat(c.get("mean_acceptance_length").asDouble()).isGreaterThanOrEqualTo(1.0);
        }
        // Each workload: 2 batches x 10 configurations, measured and projected.
        assertThat(perWorkload)
                .containsOnly(
                        Map.entry("held-out", 20),
                        Map.entry("mixed", 20),
                        Map.entry("held-out (gpu-like projection)", 20),
                        Map.entry("mixed (gpu-like projection)", 20));
        assertThat(policies)
                .containsExactlyInAnyOrder("none", "fixed", "dsd", "tetris", "tetris-adaptive");
        Set<String> claims = new HashSet<>();
        root.get("summary").forEach(c -> claims.add(c.get("claim").asText()));
        assertThat(claims)
                .containsExactlyInAnyOrder(
                        "speculation_vs_none_decode",
                        "adaptive_vs_best",
                        "tetris_vsr_vs_fixed",
                        "predictor",
                        "cost_model");
        for (String file :
                List.of(
                        "results.md",
                        "cost-profile.txt",
                        "startup-profile.txt",
                        "held-out/results.md",
                        "held-out/results.csv",
                        "held-out/throughput.png",
                        "held-out/acceptance.png",
                        "held-out/trace.txt",
                        "held-out/gpu-like/results.md",
                        "mixed/results.md",
                        "mixed/trace.txt")) {
            assertThat(out.resolve(file)).as(file).isNotEmptyFile();
        }
        assertThat(Files.readString(out.resolve("results.md")))
                .contains(
                        "## Speculation against plain decoding",
                        "## tetris-adaptive against every other policy",
                        "## TETRIS against fixed k at equal budget",
                        "## Acceptance predictor",
                        "## Cost model: predicted against measured round time",
                        "| mixed | 4 |");
        String report = Files.readString(out.resolve("held-out/results.md"));
        assertThat(report)
                .contains(
                        "## Claims",
                        "## Calibration of tetris-adaptive",
                        "## Simulator check against measured runs",
                        "| 2 | 10 |");
        assertThat(run.stderr).contains("[120/120]");

        Path simulated = dir.resolve("simulated");
        Captured replay =
                capture(
                        "bench",
                        "--quick",
                        "--json",
                        "--simulate",
                        "--models",
                        models,
                        "--trace",
                        out.resolve("held-out/trace.txt").toString(),
                        "--batches",
                        "2,4",
                        "--policies",
                        "none,fixed:3,tetris-adaptive",
                        "--output",
                        simulated.toString());
        assertThat(replay.code).as(replay.stderr).isZero();
        // Only the configurations asked for: 2 batches x 3.
        assertThat(new ObjectMapper().readTree(replay.lastLine()).get("configs")).hasSize(6);
        assertThat(Files.readString(simulated.resolve("results.md")))
                .contains("tetris bench --simulate (gpu-like)", "| tetris-adaptive |")
                .doesNotContain("\n| dsd |", "\n| **dsd**");
    }

    @Test
    void everyCommandHasHelp() {
        for (String command :
                List.of("demo", "serve", "generate", "overhead", "load", "bulk", "bench")) {
            Captured run = capture(command, "--help");
            assertThat(run.code).isZero();
            assertThat(run.stdout).contains("Usage: tetris " + command);
        }
    }

    private record Captured(int code, String stdout, String stderr) {
        String lastLine() {
            String[] lines = stdout.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private static synchronized Captured capture(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Captured(
                    code,
                    stdout.toString(StandardCharsets.UTF_8),
                    stderr.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}
