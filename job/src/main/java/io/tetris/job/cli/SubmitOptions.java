package io.tetris.job.cli;

import io.tetris.job.state.DurableState;
import io.tetris.job.state.KafkaIdentity;
import io.tetris.job.state.RestoreGuardBackend;
import io.tetris.operators.TaskModels;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.client.JobCancellationException;
import org.apache.flink.runtime.client.JobExecutionException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.SerializedThrowable;
import picocli.CommandLine.Option;

/**
 * How {@code serve --jobmanager} hands the job to a remote cluster: the models shipped with it or
 * found on the TaskManagers, and whether the client stays attached.
 */
final class SubmitOptions {

    /** Name prefix of the model folders shipped through Flink's distributed cache. */
    static final String SHIPPED_FOLDER = "tetris-models-";

    private static final long LARGE_SHIPMENT_BYTES = 2L << 30;

    @Option(
            names = "--detached",
            description =
                    "With --jobmanager: submit, print the job id and how to follow and cancel"
                            + " it, and return once the job has restored its state and completed"
                            + " a checkpoint (at most 5 minutes); the job keeps running on the"
                            + " cluster. Without"
                            + " it the command stays attached until the job ends.")
    boolean detached;

    @Option(
            names = "--ship-models",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description =
                    "With --jobmanager: ship the model folder with the job (Flink's distributed"
                            + " cache), so TaskManagers need no copy of their own (default)."
                            + " --no-ship-models: the model paths must exist on every"
                            + " TaskManager (e.g. an image's /opt/flink/usrlib/models); each"
                            + " checks them when the job starts and a missing file ends the"
                            + " job with its name.")
    boolean shipModels = true;

    /**
     * Tells the job where the TaskManagers find the model files: for a remote cluster, in the
     * folders shipped with the job (the settings keep this machine's paths, which the job checks
     * here as usual; each TaskManager maps them onto its copy), or at the same paths on every
     * TaskManager (checked here only if this machine has them). Returns the configuration to build
     * the job with.
     */
    TetrisConfig deliverModels(
            StreamExecutionEnvironment env, Configuration conf, boolean remote, PrintStream out) {
        if (detached && !remote) {
            throw new IllegalArgumentException("--detached needs --jobmanager");
        }
        if (!remote) {
            return TetrisConfig.from(conf);
        }
        Map<ConfigOption<String>, Path> files = modelFiles(conf);
        if (!shipModels) {
            boolean here = files.values().stream().allMatch(Files::isRegularFile);
            conf.set(TetrisOptions.MODEL_CHECK_AT_SUBMIT, here);
            out.println(
                    "Models: paths on the TaskManagers"
                            + (here
                                    ? " (checked here too)"
                                    : ", not on this machine: each TaskManager checks them when"
                                            + " the job starts")
                            + ": "
                            + files.values());
            return TetrisConfig.from(conf);
        }
        List<String> missing =
                files.values().stream()
                        .filter(f -> !Files.isRegularFile(f))
                        .map(Path::toString)
                        .toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(
                    "model files not found: "
                            + String.join(", ", missing)
                            + " (to use paths that only the TaskManagers have: --no-ship-models)");
        }
        Map<Path, String> folders = new LinkedHashMap<>();
        for (Map.Entry<ConfigOption<String>, Path> e : files.entrySet()) {
            Path folder = e.getValue().getParent();
            if (!folders.containsKey(folder)) {
                String name = SHIPPED_FOLDER + folders.size();
                env.registerCachedFile(folder.toUri().toString(), name);
                out.println(
                        "Models: shipping "
                                + folder
                                + " with the job ("
                                + describeSize(folder)
                                + ")");
                folders.put(folder, name);
            }
            conf.set(e.getKey(), e.getValue().toString());
        }
        List<String> shipped = new ArrayList<>();
        folders.forEach((folder, name) -> shipped.add(TaskModels.shippedFolder(name, folder)));
        conf.set(TetrisOptions.MODEL_SHIPPED_FOLDERS, shipped);
        return TetrisConfig.from(conf);
    }

    /** The model files the settings name, absolute; the draft tokenizer only when set apart. */
    private static Map<ConfigOption<String>, Path> modelFiles(Configuration conf) {
        Map<ConfigOption<String>, Path> files = new LinkedHashMap<>();
        List<ConfigOption<String>> options =
                new ArrayList<>(
                        List.of(
                                TetrisOptions.DRAFT_MODEL,
                                TetrisOptions.TARGET_MODEL,
                                TetrisOptions.TOKENIZER));
        if (conf.getOptional(TetrisOptions.DRAFT_TOKENIZER).isPresent()) {
            options.add(TetrisOptions.DRAFT_TOKENIZER);
        }
        for (ConfigOption<String> option : options) {
            files.put(option, Paths.get(conf.get(option)).toAbsolutePath().normalize());
        }
        return files;
    }

    private static String describeSize(Path folder) {
        long bytes;
        long count;
        try (Stream<Path> walk = Files.walk(folder)) {
            List<Path> regular = walk.filter(Files::isRegularFile).toList();
            count = regular.size();
            bytes = 0;
            for (Path p : regular) {
                bytes += Files.size(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model folder " + folder, e);
        }
        String size = count + " files, " + String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
        if (bytes > LARGE_SHIPMENT_BYTES) {
            size +=
                    "; every submission uploads it: for models this large a path every"
                            + " TaskManager has (--no-ship-models) is faster";
        }
        return size;
    }

    /** How a run ended, for {@code serve}: an exit code, or a checkpoint that would not restore. */
    record Outcome(int exitCode, String restoreFailure, String runId) {
        static Outcome exit(int code) {
            return new Outcome(code, null, null);
        }
    }

    /** How long {@code --detached} waits for the run's first checkpoint before returning. */
    private static final java.time.Duration DETACHED_WAIT = java.time.Duration.ofMinutes(5);

    /**
     * Runs the job: locally until it ends; on a remote cluster attached (prints the job id, waits,
     * and explains a lost JobManager instead of a stack trace) or detached (prints the job id and
     * how to follow it, then returns once the job has completed its first checkpoint). Either way
     * it records with the run the Kafka data it uses, and deletes older runs' checkpoints only once
     * this run has a checkpoint of its own. A run whose checkpoint could not be restored ends with
     * {@link Outcome#restoreFailure()} for {@code serve} to fall back.
     */
    Outcome execute(
            StreamExecutionEnvironment env,
            String jobManager,
            DurableState state,
            DurableState.Plan plan,
            KafkaIdentity kafka,
            PrintStream out)
            throws Exception {
        String jobName = plan.jobName();
        JobClient job = env.executeAsync(jobName);
        String id = job.getJobID().toString();
        state.recordRun(id, kafka, plan);
        String web = "http://" + jobManager;
        if (jobManager != null) {
            out.println("Submitted job " + id + " ('" + jobName + "') to " + web);
            out.println("  web UI:  " + web + "/#/job/running/" + id + "/overview");
            out.println("  status:  curl -s " + web + "/jobs/" + id);
            out.println(
                    "  cancel:  curl -s -X PATCH '"
                            + web
                            + "/jobs/"
                            + id
                            + "?mode=cancel'   (checkpoints stay in "
                            + plan.directory()
                            + "; the same serve command resumes from the newest)");
        }
        CompletableFuture<JobExecutionResult> result = job.getJobExecutionResult();
        long deadline = System.nanoTime() + DETACHED_WAIT.toNanos();
        boolean own = false;
        while (!result.isDone() && !own) {
            Optional<DurableState.Checkpoint> first = state.newestOf(id);
            if (first.isPresent()) {
                own = true;
                int deleted = state.cleanUpAfterFirstCheckpoint(id, plan);
                if (jobManager != null) {
                    state.unlock();
                }
                if (deleted > 0) {
                    out.println(
                            "Job '"
                                    + jobName
                                    + "' completed checkpoint "
                                    + first.get().id()
                                    + "; deleted "
                                    + deleted
                                    + " older checkpoint directories and files");
                }
            } else if (detached && System.nanoTime() > deadline) {
                out.println(
                        "No checkpoint yet after "
                                + DETACHED_WAIT.toMinutes()
                                + " minutes; returning. Older checkpoints are deleted by the"
                                + " next start once this run has its own.");
                break;
            } else {
                try {
                    result.get(200, TimeUnit.MILLISECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    // polled again below or in the loop
                }
            }
        }
        if (detached && !result.isDone()) {
            System.out.println(id); // alone on stdout: JOB=$(./tetris serve ... --detached)
            return Outcome.exit(0);
        }
        try {
            result.get();
            out.println("Job " + id + " finished.");
            return Outcome.exit(0);
        } catch (ExecutionException e) {
            String restore = restoreFailure(e);
            if (restore != null) {
                return new Outcome(1, restore, id);
            }
            if (find(e, JobCancellationException.class)) {
                out.println("Job " + id + " was cancelled; its checkpoints are kept.");
                return Outcome.exit(0);
            }
            if (jobManager == null) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
            if (find(e, JobExecutionException.class)) {
                System.err.println("error: job " + id + " failed: " + reason(e));
                return Outcome.exit(1);
            }
            System.err.println(
                    "error: lost contact with the JobManager at "
                            + jobManager
                            + " while attached to job "
                            + id
                            + " ("
                            + reason(e)
                            + "). A session cluster without high availability loses its jobs"
                            + " with its JobManager: start the JobManager again, then run this"
                            + " same serve command; it resumes from the newest checkpoint in "
                            + plan.directory()
                            + ". If the JobManager is still up, the job may still be running: "
                            + web
                            + "/jobs/"
                            + id);
            return Outcome.exit(1);
        }
    }

    /** The message of a {@link RestoreGuardBackend} failure among the causes, if any. */
    static String restoreFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String message = String.valueOf(c.getMessage());
            int at = message.indexOf(RestoreGuardBackend.MARKER);
            if (at >= 0) {
                return firstLine(message.substring(at + RestoreGuardBackend.MARKER.length()))
                        .replaceFirst("^[: ]+", "");
            }
            for (Throwable s : c.getSuppressed()) {
                String inner = restoreFailure(s);
                if (inner != null) {
                    return inner;
                }
            }
        }
        return null;
    }

    private static boolean find(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)
                    || (c instanceof SerializedThrowable s
                            && type.getName().equals(s.getOriginalErrorClassName()))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The most telling message in a failure's causes: the first argument or state problem (the
     * job's own errors are those), else the deepest cause.
     */
    static String reason(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (String.valueOf(c.getMessage()).contains("Could not find Flink job")) {
                return "the JobManager does not know the job any more: it was restarted, and"
                        + " without high availability its jobs are gone with it";
            }
        }
        Throwable deepest = t;
        for (Throwable c = t; c != null; c = c.getCause()) {
            String type =
                    c instanceof SerializedThrowable s
                            ? s.getOriginalErrorClassName()
                            : c.getClass().getName();
            if (type.equals(IllegalStateException.class.getName())
                    || type.equals(IllegalArgumentException.class.getName())) {
                String message = String.valueOf(c.getMessage());
                return firstLine(
                        message.startsWith(type + ": ")
                                ? message.substring(type.length() + 2)
                                : message);
            }
            deepest = c;
        }
        return firstLine(
                deepest instanceof SerializedThrowable ? deepest.getMessage() : deepest.toString());
    }

    /** Server-side errors carry whole stack traces in their messages; the first line says it. */
    private static String firstLine(String message) {
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end).trim();
    }
}
