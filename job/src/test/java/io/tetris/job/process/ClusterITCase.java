package io.tetris.job.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.job.TopicReader;
import io.tetris.job.kafka.KafkaTopics;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.BundledModels;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dist jar on a real standalone Flink session cluster (deploy/cluster/flink-cluster.sh: a
 * JobManager and TaskManagers as OS processes), submitted with the plain {@code serve --jobmanager
 * ... --jar ... --detached} command a user runs, with a Kafka broker as its own process:
 *
 * <ol>
 *   <li>a model path the TaskManagers lack ({@code --no-ship-models}, attached): the job fails once
 *       with the missing file named, the client says so and exits 1, no restart loop;
 *   <li>submit (models shipped with the job, the client's copy deleted right after), an injected
 *       failure ({@code --fail-at-round}) and a restart, then the TaskManager killed with SIGKILL
 *       mid-generation and a new one started, which gets the models from the JobManager;
 *   <li>cancel and the same command again (attached this time) on that same TaskManager: the native
 *       libraries, in the cluster's lib/, are not loaded a second time, and the job resumes from
 *       its retained checkpoint;
 *   <li>the JobManager killed with SIGKILL mid-generation and started again, the same command
 *       again: the job resumes from its retained checkpoint, again on the same TaskManager, and the
 *       attached client of the lost job exits saying what happened and what to do.
 * </ol>
 *
 * A read_committed consumer then sees exactly one result per request, equal (text, token ids,
 * finish reason) to a failure-free {@code bulk} run of the same requests.
 */
class ClusterITCase {

    private static final Duration TIMEOUT = Duration.ofMinutes(4);
    private static final Pattern SUBMITTED = Pattern.compile("Submitted job ([0-9a-f]{32})");

    private Path dir;
    private BrokerProcess broker;
    private FlinkCluster cluster;
    private TopicNames topics;
    private final Map<String, String> requests = new LinkedHashMap<>();
    private ChildJvm attached;

    @Test
    void submitKillCancelResubmitAndJobManagerLossAnswerEveryRequestOnce() throws Exception {
        // Under the build directory, kept after the run: the processes' logs explain a failure.
        dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "cluster-it-");
        broker = BrokerProcess.start(dir.resolve("broker"));
        cluster = FlinkCluster.at(dir.resolve("cluster"));
        boolean passed = false;
        try {
            cluster.script("start-jobmanager");
            cluster.script("start-taskmanager");
            aMissingModelEndsTheJobOnce();
            topics = TopicNames.withPrefix("cluster");
            KafkaTopics.ensureExist(broker.settings(), topics, 2, (short) 1, Duration.ofMinutes(1));

            // Submit; the client's models are gone right after; an injected failure; TM SIGKILL.
            send("a", 48);
            String first = submit();
            // The same command again while the job runs: refused, naming the running job.
            try (ChildJvm again =
                    start("serve-again.log", serveArgs(topics, "cluster", copyOfTheModels()))) {
                assertThat(again.awaitExit(TIMEOUT)).as(again.tail()).isNotZero();
                assertThat(again.tail()).contains("is already running on").contains(first);
            }
            deleteClientModels();
            int atKill = awaitCommitted("a", c -> c >= 12);
            cluster.script("kill-taskmanager");
            String newTaskManager = cluster.script("start-taskmanager").trim();
            awaitCommitted("a", c -> c >= 48);
            report("a", "submit, injected failure, TaskManager SIGKILL at " + atKill + " results");
            List<String> failures = cluster.failures(first);
            assertThat(failures)
                    .anyMatch(f -> f.contains("chaos: the decode loop fails at round 30"));
            assertThat(cluster.state(first)).isEqualTo("RUNNING");

            // Cancel, the same command again (this time attached), on the same (new) TaskManager.
            cluster.cancel(first);
            attached = start("serve-attached.log", serveArgs(topics, "cluster", copyOfTheModels()));
            String second = awaitSubmitted(attached, dir.resolve("serve-attached.log"));
            send("b", 24);
            awaitCommitted("b", c -> c >= 24);
            report("b", "cancel and resubmit (attached) on " + newTaskManager);

            // JobManager SIGKILL mid-generation, started again, the same command again.
            send("c", 48);
            atKill = awaitCommitted("c", c -> c >= 12);
            cluster.script("kill-jobmanager");
            cluster.script("start-jobmanager");
            String third = submit();
            awaitCommitted("c", c -> c >= 48);
            report("c", "JobManager SIGKILL at " + atKill + " results, restart, resubmit");
            // The attached client of the lost job says what happened and what to do.
            assertThat(attached.awaitExit(TIMEOUT)).as(attached.tail()).isEqualTo(1);
            assertThat(attached.tail())
                    .contains("error: lost contact with the JobManager")
                    .contains("run this same serve command");
            assertThat(List.of(first, second, third)).doesNotHaveDuplicates();
            Thread.sleep(3_000); // a few more checkpoints: a duplicate would be committed by now

            assertEveryRequestAnsweredOnceAsInAFailureFreeRun();
            String taskManagers = cluster.taskManagerLogs();
            assertThat(taskManagers).doesNotContain("UnsatisfiedLinkError");
            assertThat(taskManagers).doesNotContain("was loaded from the job jar");
            assertThat(taskManagers).doesNotContain("'pendingCommittables'");
            passed = true;
        } finally {
            if (attached != null) {}
            cluster.close();
            broker.close();
            if (passed) {
                cluster.deleteBlobs();
            }
        }
    }

    /** {@code --no-ship-models} with a path no TaskManager has, attached. */
    private void aMissingModelEndsTheJobOnce() throws Exception {
        TopicNames missing = TopicNames.withPrefix("missing-model");
        Path nowhere = dir.resolve("no-such-models");
        try (ChildJvm serve =
                ChildJvm.start(
                        dir.resolve("serve-missing-model.log"),
                        "512m",
                        "io.tetris.job.cli.Main",
                        serveArgs(missing, "missing-model", nowhere, "--no-ship-models"))) {
            assertThat(serve.awaitExit(TIMEOUT)).as(serve.tail()).isEqualTo(1);
            String log = serve.tail();
            assertThat(log).contains("not on this machine: each TaskManager checks them");
            assertThat(log)
                    .contains("failed: model file not found on TaskManager")
                    .contains(nowhere.resolve("target.onnx").toString());
            Matcher id = SUBMITTED.matcher(log);
            assertThat(id.find()).isTrue();
            assertThat(cluster.state(id.group(1))).isEqualTo("FAILED");
            assertThat(cluster.failures(id.group(1))).as("no restarts").hasSize(1);
        }
    }

    /** The command a user runs, the same every time, detached; returns the job's id. */
    private String submit() throws Exception {
        Path models = copyOfTheModels();
        Path log = dir.resolve("serve.log");
        try (ChildJvm serve =
                start("serve.log", serveArgs(topics, "cluster", models, "--detached"))) {
            assertThat(serve.awaitExit(TIMEOUT)).as(serve.tail()).isZero();
        }
        return awaitSubmitted(null, log);
    }

    private ChildJvm start(String log, List<String> args) throws Exception {
        return ChildJvm.start(dir.resolve(log), "512m", "io.tetris.job.cli.Main", args);
    }

    /** The id of the job the client in {@code log} submitted last, once it runs. */
    private String awaitSubmitted(ChildJvm client, Path log) throws Exception {
        if (client != null) {
            client.awaitLog("Submitted job", TIMEOUT);
        }
        String text = Files.readString(log, StandardCharsets.UTF_8);
        Matcher m = SUBMITTED.matcher(text);
        String id = null;
        while (m.find()) {
            id = m.group(1);
        }
        assertThat(id).as(text).isNotNull();
        cluster.awaitState(id, Set.of("RUNNING"), TIMEOUT);
        return id;
    }

    private List<String> serveArgs(TopicNames t, String name, Path models, String... extra)
            throws Exception {
        List<String> args =
                ServeCommandLine.of(
                        broker,
                        t,
                        models,
                        dir.resolve("state"),
                        "--create-topics",
                        "--partitions",
                        "2",
                        "--group-id",
                        name,
                        "--transactional-id-prefix",
                        name + "-results",
                        "--checkpoint-interval",
                        "500",
                        "--fail-at-round",
                        "30",
                        "--jobmanager",
                        cluster.jobManager(),
                        "--jar",
                        FlinkCluster.distJar().toString());
        args.addAll(List.of(extra));
        return args;
    }

    /** The client's models, in a folder of their own that the test deletes after submitting. */
    private Path copyOfTheModels() throws Exception {
        Path copy = dir.resolve("client-models");
        Files.createDirectories(copy);
        for (String file : List.of("draft.onnx", "target.onnx", "tokenizer.json")) {
            Files.copy(
                    BundledModels.dir().resolve(file),
                    copy.resolve(file),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return copy;
    }

    private void deleteClientModels() throws Exception {
        try (Stream<Path> files = Files.list(dir.resolve("client-models"))) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir.resolve("client-models"));
    }

    /** {@code count} requests with ids {@code <prefix>0..}: half greedy, half seeded sampling. */
    private void send(String prefix, int count) {
        Map<String, String> batch = MixedWorkload.requests(prefix, 0, count);
        requests.putAll(batch);
        MixedWorkload.send(broker.settings(), topics.requests(), batch);
    }

    /** Committed results per request id, as a read_committed consumer sees them. */
    private Map<String, List<GenerationResult>> committed() {
        Map<String, List<GenerationResult>> out = new TreeMap<>();
        for (byte[] value : TopicReader.readAll(broker.settings(), topics.results())) {
            GenerationResult r = SingleObjectCodec.RESULT.decode(value).toOptional().orElseThrow();
            out.computeIfAbsent(r.getRequestId(), k -> new ArrayList<>()).add(r);
        }
        return out;
    }

    private int awaitCommitted(String prefix, IntPredicate when) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            int count = 0;
            for (Map.Entry<String, List<GenerationResult>> e : committed().entrySet()) {
                if (e.getKey().matches(prefix + "\\d+")) {
                    count += e.getValue().size();
                }
            }
            if (when.test(count)) {
                return count;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("results of " + prefix + "* missing\n" + cluster.logTails());
    }

    private void report(String prefix, String what) {
        int sent = 0;
        int answered = 0;
        int duplicated = 0;
        Map<String, List<GenerationResult>> results = committed();
        for (String id : requests.keySet()) {
            if (!id.matches(prefix + "\\d+")) {
                continue;
            }
            sent++;
            int n = results.getOrDefault(id, List.of()).size();
            answered += n > 0 ? 1 : 0;
            duplicated += Math.max(0, n - 1);
        }
        System.out.printf(
                "cluster: %-60s %d sent, %d answered, %d lost, %d duplicated%n",
                what, sent, answered, sent - answered, duplicated);
    }

    private void assertEveryRequestAnsweredOnceAsInAFailureFreeRun() throws Exception {
        Map<String, List<GenerationResult>> results = committed();
        assertThat(results.keySet()).as("answered").isEqualTo(requests.keySet());
        results.forEach((id, r) -> assertThat(r).as("results of " + id).hasSize(1));

        Path input = dir.resolve("bulk-input.jsonl");
        Path output = dir.resolve("bulk-output.jsonl");
        Files.write(input, requests.values(), StandardCharsets.UTF_8);
        try (ChildJvm bulk =
                ChildJvm.start(
                        dir.resolve("bulk.log"),
                        "1g",
                        "io.tetris.job.cli.Main",
                        List.of(
                                "bulk",
                                "--input",
                                input.toString(),
                                "--output",
                                output.toString(),
                                "--models",
                                BundledModels.dir().toString(),
                                "--batch",
                                "4"))) {
            assertThat(bulk.awaitExit(TIMEOUT)).as(bulk.tail()).isZero();
        }
        ObjectMapper json = new ObjectMapper();
        int compared = 0;
        for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
            JsonNode expected = json.readTree(line);
            String id = expected.get("request_id").asText();
            GenerationResult actual = results.get(id).get(0);
            List<Integer> tokens = new ArrayList<>();
            expected.get("token_ids").forEach(t -> tokens.add(t.asInt()));
            assertThat(actual.getTokenIds()).as(id).isEqualTo(tokens);
            assertThat(actual.getText()).as(id).isEqualTo(expected.get("text").asText());
            assertThat(actual.getFinishReason().toString().toLowerCase(java.util.Locale.ROOT))
                    .as(id)
                    .isEqualTo(expected.get("finish_reason").asText());
            compared++;
        }
        assertThat(compared).isEqualTo(requests.size());
        System.out.printf(
                "cluster: all %d requests answered exactly once, equal to a failure-free bulk"
                        + " run%n",
                compared);
    }
}
