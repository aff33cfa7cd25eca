package io.tetris.job.state;

import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.dedupe.AnsweredIds;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.Path;

/**
 * Durable checkpoints and automatic resume for a long-running job. A restarted process is a new
 * Flink job (a new run): without the old run's state it would skip requests that were queued or
 * mid-generation (their offsets were committed) and re-send results committed before their offsets.
 * So every start looks for the newest completed checkpoint of the same job and restores it.
 *
 * <p>Layout: {@code <state-dir>/<job-name>/<flink-job-id>/chk-<n>/_metadata}, as Flink writes it;
 * next to it, per run, {@value StateDirectory#RUN_FILE} (the Kafka data the run used), and per job
 * the lock of {@link JobLock} and the {@link AnsweredIds} files of fallbacks. {@link
 * StateDirectory} reads and writes that layout; this class decides what to resume and delete.
 *
 * <p>What makes a resume safe:
 *
 * <ul>
 *   <li>a checkpoint is only resumed against the Kafka data it was taken on ({@link
 *       KafkaIdentity}), else the start is refused;
 *   <li>nothing retained is deleted before the new run has completed a checkpoint of its own, so a
 *       checkpoint that cannot be restored leaves an older one to fall back to; one that failed to
 *       restore is marked and skipped from then on;
 *   <li>resumed from a checkpoint older than the newest, the job is told which requests were
 *       answered after it ({@link AnsweredResults}), so it does not answer them again.
 * </ul>
 */
public final class DurableState implements AutoCloseable {

    private static final Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final String ANSWERED_KEY = "answered-ids";

    /** A completed checkpoint on durable storage. */
    public record Checkpoint(Path path, long id, long completedAtMs) {
        /** The directory of the run that took it. */
        public Path run() {
            return path.getParent();
        }
    }

    /**
     * What a start will do.
     *
     * @param jobName identity of the job
     * @param directory where its checkpoints go
     * @param resumeFrom the checkpoint it restores, if any
     * @param explicitRestore a restore path given by the user, which wins over the search
     * @param skipped newer checkpoints passed over, each with the reason
     * @param fallback whether a checkpoint newer than {@code resumeFrom} was completed
     * @param answeredIds the file of request ids answered after {@code resumeFrom}, or empty
     * @param notes other facts worth a line
     */
    public record Plan(
            String jobName,
            Path directory,
            Optional<Checkpoint> resumeFrom,
            String explicitRestore,
            List<String> skipped,
            boolean fallback,
            String answeredIds,
            List<String> notes) {

        /** One line for the console: where checkpoints go and what the job resumes from. */
        public String describe() {
            StringBuilder line = new StringBuilder();
            line.append("State of job '").append(jobName).append("': ").append(directory);
            if (explicitRestore != null) {
                line.append("; restoring ").append(explicitRestore).append(" (given explicitly)");
            } else if (resumeFrom.isPresent()) {
                Checkpoint c = resumeFrom.get();
                line.append("; resuming from checkpoint ")
                        .append(c.id())
                        .append(" at ")
                        .append(c.path())
                        .append(" (completed ")
                        .append(Instant.ofEpochMilli(c.completedAtMs()))
                        .append(")");
            } else {
                line.append("; no retained checkpoint, starting fresh");
            }
            for (String s : skipped) {
                line.append("; skipped checkpoint ").append(s);
            }
            for (String note : notes) {
                line.append("; ").append(note);
            }
            return line.toString();
        }
    }

    /** The retained state belongs to other Kafka data than the job is started against. */
    public static final class ForeignStateException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        ForeignStateException(String message) {
            super(message);
        }
    }

    private final String jobName;
    private final StateDirectory directory;
    private final Configuration conf;
    private JobLock lock;
    private final int deletedAtOpen;
    private boolean abandonOnPlan;

    private DurableState(
            String jobName,
            StateDirectory directory,
            Configuration conf,
            JobLock lock,
            int deletedAtOpen,
            boolean abandonOnPlan) {
        this.jobName = jobName;
        this.directory = directory;
        this.conf = conf;
        this.lock = lock;
        this.deletedAtOpen = deletedAtOpen;
        this.abandonOnPlan = abandonOnPlan;
    }

    /**
     * The default job identity: the same topics, consumer group and transactional prefix mean the
     * same job, whatever else changes on the command line.
     */
    public static String jobName(TopicNames topics, String groupId, String transactionalIdPrefix) {
        String identity =
                String.join(
                        "\n",
                        topics.requests(),
                        topics.tokens(),
                        topics.results(),
                        topics.errors(),
                        groupId,
                        transactionalIdPrefix);
        String readable = groupId.replaceAll("[^A-Za-z0-9._-]", "_");
        if (readable.length() > 64) {
            readable = readable.substring(0, 64);
        }
        return "tetris-" + readable + "-" + sha256(identity).substring(0, 10);
    }

    /**
     * The job's name: {@link StateOptions#JOB_NAME} or {@code defaultJobName}.
     *
     * @throws IllegalArgumentException when it cannot name a directory
     */
    public static String jobName(Configuration conf, String defaultJobName) {
        String jobName = conf.getOptional(StateOptions.JOB_NAME).orElse(defaultJobName);
        if (!JOB_NAME.matcher(jobName).matches()) {
            throw new IllegalArgumentException(
                    "job name '"
                            + jobName
                            + "' must be 1 to 128 letters, digits, '.', '_' or '-', starting with a"
                            + " letter or digit (--job-name / "
                            + StateOptions.JOB_NAME.key()
                            + ")");
        }
        return jobName;
    }

    /**
     * Configures durable checkpoints in {@code conf}, takes the job's lock (on a local file system)
     * and deletes what runs killed before their first checkpoint left.
     *
     * @param defaultJobName the job's identity when {@link StateOptions#JOB_NAME} is not set
     * @throws JobLock.JobRunningException when another process runs the job
     */
    public static DurableState open(Configuration conf, String defaultJobName) throws IOException {
        String jobName = jobName(conf, defaultJobName);
        int retained = conf.get(StateOptions.RETAINED);
        if (retained < 1) {
            throw new IllegalArgumentException(
                    StateOptions.RETAINED.key() + " must be at least 1, was " + retained);
        }
        Path directory =
                conf.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY)
                        .map(Path::new)
                        .orElseGet(() -> jobDirectory(conf, jobName));

        // Full heap snapshots: the loop's state is a few sequences per replica and is read every
        // round, which a serializing backend (RocksDB, ForSt) would slow down for nothing. Guarded,
        // so that a checkpoint that cannot be read ends the job instead of a restart loop. A
        // backend the user chose is left as it is.
        if (!conf.contains(StateBackendOptions.STATE_BACKEND)) {
            conf.set(
                    StateBackendOptions.STATE_BACKEND, RestoreGuardBackend.Factory.class.getName());
        }
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, directory.toString());
        conf.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, retained);

        JobLock lock = JobLock.supported(directory) ? JobLock.acquire(directory, jobName) : null;
        try {
            boolean explicit = conf.getOptional(StateRecoveryOptions.SAVEPOINT_PATH).isPresent();
            StateDirectory state = new StateDirectory(directory);
            int deleted = explicit ? 0 : state.deleteRunsWithoutCheckpoints();
            return new DurableState(
                    jobName,
                    state,
                    conf,
                    lock,
                    deleted,
                    !explicit && conf.get(StateOptions.FRESH_START));
        } catch (IOException | RuntimeException e) {
            if (lock != null) {
                lock.close();
            }
            throw e;
        }
    }

    public String jobName() {
        return jobName;
    }

    public Path directory() {
        return directory.path();
    }

    /** Whether this process holds the job's lock (false on file systems that cannot lock). */
    public boolean locked() {
        return lock != null;
    }

    /**
     * Chooses what the next run resumes from: the newest completed checkpoint that is readable, not
     * known to be unrestorable and not given up, taken against the same Kafka data as {@code
     * kafka}.
     *
     * @param answered reads the ids answered after a checkpoint, when the plan is a fallback
     * @throws ForeignStateException when that checkpoint belongs to other Kafka data
     * @throws IllegalStateException when checkpoints exist but none can be resumed
     */
    public Plan plan(KafkaIdentity kafka, AnsweredSource answered) throws IOException {
        String explicit = conf.getOptional(StateRecoveryOptions.SAVEPOINT_PATH).orElse(null);
        List<String> notes = new ArrayList<>();
        if (deletedAtOpen > 0) {
            notes.add(
                    "deleted "
                            + deletedAtOpen
                            + " directories of runs that never completed a checkpoint");
        }
        if (explicit != null) {
            return new Plan(
                    jobName,
                    directory.path(),
                    Optional.empty(),
                    explicit,
                    List.of(),
                    false,
                    "",
                    notes);
        }
        if (abandonOnPlan) {
            abandonOnPlan = false;
            int abandoned = 0;
            for (FileStatus run : directory.runs()) {
                directory.abandon(run.getPath());
                abandoned++;
            }
            if (abandoned > 0) {
                notes.add(
                        "--fresh-start: the checkpoints of "
                                + abandoned
                                + " earlier runs are given up and deleted once this run has"
                                + " its first");
            }
            return new Plan(
                    jobName, directory.path(), Optional.empty(), null, List.of(), false, "", notes);
        }
        List<Checkpoint> completed = directory.completedCheckpoints();
        List<String> skipped = new ArrayList<>();
        Checkpoint resume = null;
        boolean newerExists = false;
        for (Checkpoint c : completed) {
            if (directory.abandoned(c.run())) {
                continue;
            }
            Optional<String> unrestorable = directory.unrestorable(c);
            if (unrestorable.isPresent()) {
                skipped.add(c.path() + " (it could not be restored: " + unrestorable.get() + ")");
                newerExists = true;
                continue;
            }
            Optional<String> unreadable = directory.unreadable(c);
            if (unreadable.isPresent()) {
                skipped.add(c.path() + " (its metadata cannot be read: " + unreadable.get() + ")");
                newerExists = true;
                continue;
            }
            resume = c;
            break;
        }
        if (resume == null) {
            if (!skipped.isEmpty()) {
                throw new IllegalStateException(
                        "none of the retained checkpoints of job '"
                                + jobName
                                + "' can be resumed: "
                                + String.join("; ", skipped)
                                + ". They are kept in "
                                + directory.path()
                                + ". To start without them: --fresh-start (requests queued or"
                                + " mid-generation in them are then not resumed).");
            }
            return new Plan(
                    jobName, directory.path(), Optional.empty(), null, List.of(), false, "", notes);
        }
        Properties run = directory.runProperties(resume.run());
        Optional<KafkaIdentity> then = KafkaIdentity.from(run);
        if (then.isPresent()) {
            Optional<String> difference = then.get().differenceFrom(kafka);
            if (difference.isPresent()) {
                throw new ForeignStateException(
                        "refusing to resume job '"
                                + jobName
                                + "' from checkpoint "
                                + resume.path()
                                + ": "
                                + difference.get()
                                + ", so its offsets would skip or repeat requests. To start"
                                + " without those checkpoints: --fresh-start; to keep them and"
                                + " run apart from them: another --job-name.");
            }
        } else {
            notes.add(
                    "no Kafka identity is recorded with that checkpoint (taken by an older"
                            + " version), resumed without checking it");
        }
        String carried = run.getProperty(ANSWERED_KEY, "");
        String answeredIds = carried;
        if (newerExists) {
            Set<String> ids = new LinkedHashSet<>(answered.after(resume));
            if (!carried.isEmpty()) {
                notes.add("keeping the answered ids of an earlier fallback");
                ids.addAll(AnsweredIds.load(carried).ids());
            }
            Path file = directory.newAnsweredIdsFile(resume.id());
            AnsweredIds.write(file, ids);
            answeredIds = file.toString();
            notes.add(
                    "falling back past newer checkpoints: "
                            + ids.size()
                            + " requests answered after checkpoint "
                            + resume.id()
                            + " will not be answered again");
        }
        return new Plan(
                jobName,
                directory.path(),
                Optional.of(resume),
                null,
                List.copyOf(skipped),
                newerExists,
                answeredIds,
                notes);
    }

    /** The request ids whose results were committed after a checkpoint. */
    @FunctionalInterface
    public interface AnsweredSource {
        Collection<String> after(Checkpoint checkpoint);
    }

    /** The settings of a run that follows {@code plan}: what to restore and how. */
    public Configuration configure(Plan plan, Configuration base) {
        Configuration run = new Configuration(base);
        plan.resumeFrom()
                .ifPresent(
                        c -> {
                            run.set(StateRecoveryOptions.SAVEPOINT_PATH, c.path().toString());
                            // Flink owns the restored checkpoint and deletes it once a newer one
                            // is retained.
                            run.set(StateRecoveryOptions.RESTORE_MODE, RecoveryClaimMode.CLAIM);
                        });
        run.set(io.tetris.operators.config.TetrisOptions.ANSWERED_IDS, plan.answeredIds());
        return run;
    }

    /** Records with the run what Kafka data it uses and the answered ids it was given. */
    public void recordRun(String runId, KafkaIdentity kafka, Plan plan) throws IOException {
        Properties p = new Properties();
        kafka.addTo(p);
        if (!plan.answeredIds().isEmpty()) {
            p.setProperty(ANSWERED_KEY, plan.answeredIds());
        }
        directory.writeRunProperties(
                directory.run(runId), p, "The Kafka data this run of the job reads and writes");
    }

    /** Marks {@code checkpoint} as one that cannot be restored, so no later start tries it. */
    public void markUnrestorable(Checkpoint checkpoint, String reason) throws IOException {
        directory.markUnrestorable(checkpoint, reason);
    }

    /** The newest completed checkpoint of the run {@code runId}. */
    public Optional<Checkpoint> newestOf(String runId) throws IOException {
        Path runDir = directory.run(runId);
        return directory.completedCheckpoints().stream()
                .filter(c -> c.run().equals(runDir))
                .findFirst();
    }

    /**
     * Once the run {@code runId} has completed a checkpoint of its own: deletes the checkpoints of
     * every other run but the one it restored (Flink owns that one and deletes it when a newer is
     * retained), and the answered-ids files no run refers to.
     *
     * @return the number of directories and files deleted
     */
    public int cleanUpAfterFirstCheckpoint(String runId, Plan plan) throws IOException {
        Path keepRun = directory.run(runId);
        Path restored = plan.resumeFrom().map(Checkpoint::path).orElse(null);
        int deleted = 0;
        Set<String> referenced = new LinkedHashSet<>();
        for (FileStatus run : directory.runs()) {
            if (run.getPath().equals(keepRun)) {
                continue;
            }
            boolean keptSomething = false;
            for (Path chk : directory.checkpointDirectories(run.getPath())) {
                if (chk.equals(restored)) {
                    keptSomething = true;
                    continue;
                }
                directory.delete(chk, true);
                deleted++;
            }
            if (keptSomething) {
                referenced.add(
                        directory.runProperties(run.getPath()).getProperty(ANSWERED_KEY, ""));
            } else {
                directory.delete(run.getPath(), true);
                deleted++;
            }
        }
        referenced.add(directory.runProperties(keepRun).getProperty(ANSWERED_KEY, ""));
        referenced.add(plan.answeredIds());
        for (FileStatus file : directory.answeredIdsFiles()) {
            if (!referenced.contains(file.getPath().toString())) {
                directory.delete(file.getPath(), false);
                deleted++;
            }
        }
        return deleted;
    }

    /**
     * Lets go of the job's lock early: once a job runs on a remote cluster, the cluster's list of
     * running jobs is what refuses a second one, and a client that stays attached must not keep a
     * new start out after its cluster lost the job.
     */
    public void unlock() throws IOException {
        if (lock != null) {
            lock.close();
            lock = null;
        }
    }

    @Override
    public void close() throws IOException {
        unlock();
    }

    private static Path jobDirectory(Configuration conf, String jobName) {
        String base =
                conf.getOptional(StateOptions.DIRECTORY).orElseGet(StateOptions::defaultDirectory);
        return new Path(new Path(base), jobName);
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
