package io.tetris.job.state;

import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.dedupe.AnsweredIds;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.checkpoint.Checkpoints;

/**
 * Durable checkpoints and automatic resume for a long-running job. A restarted process is a new
 * Flink job (a new run): without the old run's state it would skip requests that were queued or
 * mid-generation (their offsets were committed) and re-send results committed before their offsets.
 * So every start looks for the newest completed checkpoint of the same job and restores it.
 *
 * <p>Layout: {@code <state-dir>/<job-name>/<flink-job-id>/chk-<n>/_metadata}, as Flink writes it;
 * next to it, per run, {@value #RUN_FILE} (the Kafka data the run used), and per job the lock of
 * {@link JobLock} and the {@link AnsweredIds} files of fallbacks.
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

    private static final Pattern JOB_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern CHECKPOINT = Pattern.compile("chk-(\\d+)");
    private static final Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final String METADATA = "_metadata";

    /** Per run: the Kafka identity it read and wrote, and the answered ids it was given. */
    static final String RUN_FILE = "tetris-run.properties";

    /** In a checkpoint directory: why it could not be restored. */
    static final String UNRESTORABLE = "_tetris_unrestorable";

    /** In a run directory: the run was given up by a {@code --fresh-start}. */
    static final String ABANDONED = "_tetris_abandoned";

    private static final String ANSWERED_DIR = "answered-ids";
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
    private final Path directory;
    private final FileSystem fs;
    private final Configuration conf;
    private JobLock lock;
    private final int deletedAtOpen;
    private boolean abandonOnPlan;

    private DurableState(
            String jobName,
            Path directory,
            Configuration conf,
            JobLock lock,
            int deletedAtOpen,
            boolean abandonOnPlan)
            throws IOException {
        this.jobName = jobName;
        this.directory = directory;
        this.fs = directory.getFileSystem();
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
            int deleted = explicit ? 0 : deleteRunsWithoutCheckpoints(directory);
            return new DurableState(
                    jobName,
                    directory,
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
        return directory;
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
                    jobName, directory, Optional.empty(), explicit, List.of(), false, "", notes);
        }
        if (abandonOnPlan) {
            abandonOnPlan = false;
            int abandoned = 0;
            for (FileStatus run : runs()) {
                touch(new Path(run.getPath(), ABANDONED), "given up by --fresh-start");
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
                    jobName, directory, Optional.empty(), null, List.of(), false, "", notes);
        }
        List<Checkpoint> completed = completedCheckpoints(fs, directory);
        List<String> skipped = new ArrayList<>();
        Checkpoint resume = null;
        boolean newerExists = false;
        for (Checkpoint c : completed) {
            if (fs.exists(new Path(c.run(), ABANDONED))) {
                continue;
            }
            Optional<String> unrestorable = readText(new Path(c.path(), UNRESTORABLE));
            if (unrestorable.isPresent()) {
                skipped.add(c.path() + " (it could not be restored: " + unrestorable.get() + ")");
                newerExists = true;
                continue;
            }
            Optional<String> unreadable = unreadable(c);
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
                                + directory
                                + ". To start without them: --fresh-start (requests queued or"
                                + " mid-generation in them are then not resumed).");
            }
            return new Plan(
                    jobName, directory, Optional.empty(), null, List.of(), false, "", notes);
        }
        Properties run = runProperties(resume.run());
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
            Path file =
                    new Path(
                            new Path(directory, ANSWERED_DIR),
                            "after-chk-" + resume.id() + "-" + UUID.randomUUID() + ".ids");
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
                directory,
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
        run.set(io.tetris.config.TetrisOptions.ANSWERED_IDS, plan.answeredIds());
        return run;
    }

    /** Records with the run what Kafka data it uses and the answered ids it was given. */
    public void recordRun(String runId, KafkaIdentity kafka, Plan plan) throws IOException {
        Path runDir = new Path(directory, runId);
        fs.mkdirs(runDir);
        Properties p = new Properties();
        kafka.addTo(p);
        if (!plan.answeredIds().isEmpty()) {
            p.setProperty(ANSWERED_KEY, plan.answeredIds());
        }
        try (OutputStream out =
                fs.create(new Path(runDir, RUN_FILE), FileSystem.WriteMode.OVERWRITE)) {
            var writer = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8);
            p.store(writer, "The Kafka data this run of the job reads and writes");
            writer.flush();
        }
    }

    /** Marks {@code checkpoint} as one that cannot be restored, so no later start tries it. */
    public void markUnrestorable(Checkpoint checkpoint, String reason) throws IOException {
        touch(new Path(checkpoint.path(), UNRESTORABLE), reason);
    }

    /** The newest completed checkpoint of the run {@code runId}. */
    public Optional<Checkpoint> newestOf(String runId) throws IOException {
        Path runDir = new Path(directory, runId);
        return completedCheckpoints(fs, directory).stream()
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
        Path keepRun = new Path(directory, runId);
        Path restored = plan.resumeFrom().map(Checkpoint::path).orElse(null);
        int deleted = 0;
        Set<String> referenced = new LinkedHashSet<>();
        for (FileStatus run : runs()) {
            if (run.getPath().equals(keepRun)) {
                continue;
            }
            boolean keptSomething = false;
            for (FileStatus chk : list(fs, run.getPath())) {
                if (!chk.isDir() || !CHECKPOINT.matcher(chk.getPath().getName()).matches()) {
                    continue;
                }
                if (chk.getPath().equals(restored)) {
                    keptSomething = true;
                    continue;
                }
                fs.delete(chk.getPath(), true);
                deleted++;
            }
            if (keptSomething) {
                referenced.add(runProperties(run.getPath()).getProperty(ANSWERED_KEY, ""));
            } else {
                fs.delete(run.getPath(), true);
                deleted++;
            }
        }
        referenced.add(runProperties(keepRun).getProperty(ANSWERED_KEY, ""));
        referenced.add(plan.answeredIds());
        for (FileStatus file : list(fs, new Path(directory, ANSWERED_DIR))) {
            if (!referenced.contains(file.getPath().toString())) {
                fs.delete(file.getPath(), false);
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

    private List<FileStatus> runs() throws IOException {
        List<FileStatus> runs = new ArrayList<>();
        for (FileStatus run : list(fs, directory)) {
            if (run.isDir() && JOB_ID.matcher(run.getPath().getName()).matches()) {
                runs.add(run);
            }
        }
        return runs;
    }

    /** Completed checkpoints of every run of the job, newest first. */
    static List<Checkpoint> completedCheckpoints(FileSystem fs, Path directory) throws IOException {
        List<Checkpoint> found = new ArrayList<>();
        for (FileStatus run : list(fs, directory)) {
            if (!run.isDir() || !JOB_ID.matcher(run.getPath().getName()).matches()) {
                continue;
            }
            for (FileStatus chk : list(fs, run.getPath())) {
                Matcher m = CHECKPOINT.matcher(chk.getPath().getName());
                if (!chk.isDir() || !m.matches()) {
                    continue;
                }
                Path metadata = new Path(chk.getPath(), METADATA);
                if (fs.exists(metadata)) {
                    found.add(
                            new Checkpoint(
                                    chk.getPath(),
                                    Long.parseLong(m.group(1)),
                                    fs.getFileStatus(metadata).getModificationTime()));
                }
            }
        }
        found.sort(
                Comparator.comparingLong(Checkpoint::completedAtMs)
                        .thenComparingLong(Checkpoint::id)
                        .reversed());
        return found;
    }

    /**
     * Deletes the directories of runs that hold no completed checkpoint: killed before their first,
     * they hold nothing to resume. Under the job's lock no such run is still going.
     */
    private static int deleteRunsWithoutCheckpoints(Path directory) throws IOException {
        FileSystem fs = directory.getFileSystem();
        List<Checkpoint> completed = completedCheckpoints(fs, directory);
        int deleted = 0;
        for (FileStatus run : list(fs, directory)) {
            if (run.isDir()
                    && JOB_ID.matcher(run.getPath().getName()).matches()
                    && completed.stream().noneMatch(c -> c.run().equals(run.getPath()))) {
                fs.delete(run.getPath(), true);
                deleted++;
            }
        }
        return deleted;
    }

    /** Why Flink cannot read the checkpoint's metadata (a kill can cut a file short), if so. */
    private Optional<String> unreadable(Checkpoint c) {
        try (DataInputStream in = new DataInputStream(fs.open(new Path(c.path(), METADATA)))) {
            Checkpoints.loadCheckpointMetadata(
                    in, DurableState.class.getClassLoader(), c.path().toString());
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of(String.valueOf(e));
        }
    }

    private Properties runProperties(Path runDir) throws IOException {
        Properties p = new Properties();
        Path file = new Path(runDir, RUN_FILE);
        if (fs.exists(file)) {
            try (InputStream in = fs.open(file)) {
                p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            }
        }
        return p;
    }

    private Optional<String> readText(Path file) throws IOException {
        if (!fs.exists(file)) {
            return Optional.empty();
        }
        try (InputStream in = fs.open(file)) {
            return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
        }
    }

    private void touch(Path file, String text) throws IOException {
        try (OutputStream out = fs.create(file, FileSystem.WriteMode.OVERWRITE)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static FileStatus[] list(FileSystem fs, Path directory) throws IOException {
        if (!fs.exists(directory)) {
            return new FileStatus[0];
        }
        FileStatus[] statuses = fs.listStatus(directory);
        return statuses == null ? new FileStatus[0] : statuses;
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
