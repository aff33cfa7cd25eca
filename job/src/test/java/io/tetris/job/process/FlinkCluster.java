package io.tetris.job.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A standalone Flink session cluster started by the project's {@code
 * deploy/cluster/flink-cluster.sh}, as a user would start it: a JobManager and TaskManagers as OS
 * processes, on free ports, with its files (logs, configuration, checkpoints) under one directory.
 * The script's lib/ comes from the build ({@code deploy/cluster} and the job's {@code
 * target/flink-lib}); nothing is downloaded.
 */
final class FlinkCluster implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final Path home;
    private final int restPort;
    private final int rpcPort;
    private final HttpClient http = HttpClient.newHttpClient();

    private FlinkCluster(Path root, Path home) {
        this.root = root;
        this.home = home;
        this.restPort = BrokerProcess.freePort();
        this.rpcPort = BrokerProcess.freePort();
    }

    /** A cluster whose files go under {@code home}; nothing is started yet. */
    static FlinkCluster at(Path home) {
        return new FlinkCluster(projectRoot(), home);
    }

    /** Runs a command of the script and returns its stdout; fails when it fails. */
    String script(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(root.resolve("deploy/cluster/flink-cluster.sh").toString());
        command.addAll(List.of(args));
        Files.createDirectories(home);
        Path out = home.resolve("script.out");
        Path err = home.resolve("script.err");
        ProcessBuilder builder =
                new ProcessBuilder(command)
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile());
        builder.environment().put("TETRIS_CLUSTER_HOME", home.toString());
        builder.environment().put("FLINK_REST_PORT", String.valueOf(restPort));
        builder.environment().put("FLINK_RPC_PORT", String.valueOf(rpcPort));
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process process = builder.start();
        if (!process.waitFor(3, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("flink-cluster.sh " + String.join(" ", args) + " hung");
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        System.out.print(stderr);
        if (process.exitValue() != 0) {
            throw new AssertionError(
                    "flink-cluster.sh "
                            + String.join(" ", args)
                            + " exited with "
                            + process.exitValue()
                            + ":\n"
                            + stderr
                            + "\n"
                            + logTails());
        }
        return stdout;
    }

    /** {@code HOST:PORT} for {@code serve --jobmanager}. */
    String jobManager() {
        return "localhost:" + restPort;
    }

    /** A GET of the JobManager's REST API. */
    JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response =
                http.send(
                        HttpRequest.newBuilder(URI.create("http://" + jobManager() + path))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IOException("GET " + path + ": " + response.statusCode() + " " + response);
        }
        return JSON.readTree(response.body());
    }

    /** Cancels a job, as {@code curl -X PATCH .../jobs/ID?mode=cancel} does. */
    void cancel(String jobId) throws Exception {
        HttpResponse<String> response =
                http.send(
                        HttpRequest.newBuilder(
                                        URI.create(
                                                "http://"
                                                        + jobManager()
                                                        + "/jobs/"
                                                        + jobId
                                                        + "?mode=cancel"))
                                .method("PATCH", HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new AssertionError("cancel " + jobId + ": " + response.body());
        }
        awaitState(jobId, Set.of("CANCELED"), Duration.ofMinutes(1));
    }

    String state(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId).get("state").asText();
    }

    /** Waits until the job is in one of {@code states}; fails on any other terminal state. */
    void awaitState(String jobId, Set<String> states, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String state = "?";
        while (System.nanoTime() < deadline) {
            state = state(jobId);
            if (states.contains(state)) {
                return;
            }
            if (Set.of("FAILED", "CANCELED", "FINISHED").contains(state)) {
                throw new AssertionError("job " + jobId + " is " + state + "\n" + logTails());
            }
            Thread.sleep(250);
        }
        throw new AssertionError("job " + jobId + " still " + state + "\n" + logTails());
    }

    /** The messages of every failure the job has seen (Flink's exception history). */
    List<String> failures(String jobId) throws IOException, InterruptedException {
        List<String> out = new ArrayList<>();
        for (JsonNode e : get("/jobs/" + jobId + "/exceptions").at("/exceptionHistory/entries")) {
            out.add(e.get("stacktrace").asText());
        }
        return out;
    }

    /** Every TaskManager log, concatenated. */
    String taskManagerLogs() throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> logs = Files.list(home.resolve("log"))) {
            for (Path log :
                    logs.filter(p -> p.getFileName().toString().matches("taskmanager-\\d+\\.log"))
                            .sorted()
                            .toList()) {
                all.append(Files.readString(log, StandardCharsets.UTF_8));
            }
        }
        return all.toString();
    }

    String logTails() {
        StringBuilder tails = new StringBuilder();
        try (Stream<Path> logs = Files.list(home.resolve("log"))) {
            for (Path log : logs.sorted().toList()) {
                String text = Files.readString(log, StandardCharsets.UTF_8);
                tails.append("----- ")
                        .append(log)
                        .append(":\n")
                        .append(text.substring(Math.max(0, text.length() - 3000)))
                        .append('\n');
            }
        } catch (IOException e) {
            tails.append("(no logs: ").append(e).append(")");
        }
        return tails.toString();
    }

    Path home() {
        return home;
    }

    /** The dist jar the build made for clusters. */
    static Path distJar() throws IOException {
        try (Stream<Path> jars = Files.list(projectRoot().resolve("job/target"))) {
            return jars.filter(p -> p.getFileName().toString().endsWith("-dist.jar"))
                    .findFirst()
                    .orElseThrow(
                            () ->
                                    new AssertionError(
                                            "no job/target/*-dist.jar: the cluster test needs"
                                                    + " `mvn verify` (or -Pdist package)"));
        }
    }

    @Override
    public void close() throws Exception {
        script("stop");
    }

    /**
     * Deletes the bulky files (the blob stores hold a copy of the job jar per job and process),
     * keeping the logs.
     */
    void deleteBlobs() throws IOException {
        Path tmp = home.resolve("tmp");
        if (Files.exists(tmp)) {
            try (Stream<Path> walk = Files.walk(tmp)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static Path projectRoot() {
        Path dir = Paths.get("").toAbsolutePath();
        while (dir != null
                && !Files.isRegularFile(dir.resolve("deploy/cluster/flink-cluster.sh"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no deploy/cluster/flink-cluster.sh above here");
        }
        return dir;
    }
}
