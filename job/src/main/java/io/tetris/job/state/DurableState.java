package io.tetris.job.state;

import io.tetris.job.kafka.TopicNames;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
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
 * Flink job: without the old job's state it would skip requests that were queued or mid-generation
 * (their offsets were committed) and re-send results committed before their offsets. So every start
 * looks for the newest completed checkpoint of the same job and restores it.
 *
 * <p>Layout: {@code <state-dir>/<job-name>/<flink-job-id>/chk-<n>/_metadata}, as Flink writes it.
 * The restored checkpoint is claimed, so Flink deletes it once a newer one completes; older runs'
 * directories are deleted here.
 */
public final class DurableState {

    private static final Pattern JOB_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern CHECKPOINT = Pattern.compile("chk-(\\d+)");
    private static final Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final String METADATA = "_metadata";

    /** A completed checkpoint on durable storage. */
    public record Checkpoint(Path path, long id, long completedAtMs) {}

    /**
     * What a start will do.
     *
     * @param jobName identity of the job
     * @param directory where its checkpoints go
     * @param resumeFrom the checkpoint it restores, if any
     * @param explicitRestore a restore path given by the user, which wins over the search
     * @param unreadable newer checkpoints skipped because their metadata could not be read
     * @param deleted directories of older runs and checkpoints deleted
     */
    public record Plan(
            String jobName,
            Path directory,
            Optional<Checkpoint> resumeFrom,
            String explicitRestore,
            List<String> unreadable,
            int deleted) {

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
            for (String skipped : unreadable) {
                line.append("; skipped unreadable checkpoint ").append(skipped);
            }
            if (deleted > 0) {
                line.append("; deleted ").append(deleted).append(" older checkpoint directories");
            }
            return line.toString();
        }
    }

    private DurableState() {}

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
     * Configures durable checkpoints in {@code conf} and, unless a fresh start is asked for, the
     * restore of the job's newest readable completed checkpoint; deletes what older runs left.
     *
     * @param defaultJobName the job's identity when {@link StateOptions#JOB_NAME} is not set
     */
    public static Plan apply(Configuration conf, String defaultJobName) throws IOException {
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
        // round, which a serializing backend (RocksDB, ForSt) would slow down for nothing.
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, directory.toString());
        conf.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, retained);

        String explicit = conf.getOptional(StateRecoveryOptions.SAVEPOINT_PATH).orElse(null);
        if (explicit != null) {
            return new Plan(jobName, directory, Optional.empty(), explicit, List.of(), 0);
        }
        FileSystem fs = directory.getFileSystem();
        List<Checkpoint> completed = completedCheckpoints(fs, directory);
        List<String> unreadable = new ArrayList<>();
        Checkpoint resume = null;
        if (!conf.get(StateOptions.FRESH_START)) {
            for (Checkpoint c : completed) {
                if (readable(fs, c)) {
                    resume = c;
                    break;
                }
                unreadable.add(c.path().toString());
            }
        }
        int deleted = 0;
        if (resume != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, resume.path().toString());
            // Flink owns the restored checkpoint and deletes it once a newer one is retained.
            conf.set(StateRecoveryOptions.RESTORE_MODE, RecoveryClaimMode.CLAIM);
            deleted = deleteAllBut(fs, directory, resume);
        } else if (!conf.get(StateOptions.FRESH_START)) {
            deleted = deleteAllBut(fs, directory, null);
        }
        return new Plan(jobName, directory, Optional.ofNullable(resume), null, unreadable, deleted);
    }

    private static Path jobDirectory(Configuration conf, String jobName) {
        String base =
                conf.getOptional(StateOptions.DIRECTORY).orElseGet(StateOptions::defaultDirectory);
        return new Path(new Path(base), jobName);
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

    /** Whether Flink can read the checkpoint's metadata (a kill can cut a file short). */
    private static boolean readable(FileSystem fs, Checkpoint c) {
        try (DataInputStream in = new DataInputStream(fs.open(new Path(c.path(), METADATA)))) {
            Checkpoints.loadCheckpointMetadata(
                    in, DurableState.class.getClassLoader(), c.path().toString());
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Deletes the directories of every other run of the job and the other checkpoints of the run
     * that {@code keep} belongs to (every run's, when {@code keep} is null).
     */
    private static int deleteAllBut(FileSystem fs, Path directory, Checkpoint keep)
            throws IOException {
        int deleted = 0;
        Path keepRun = keep == null ? null : keep.path().getParent();
        for (FileStatus run : list(fs, directory)) {
            if (!run.isDir() || !JOB_ID.matcher(run.getPath().getName()).matches()) {
                continue;
            }
            if (!run.getPath().equals(keepRun)) {
                fs.delete(run.getPath(), true);
                deleted++;
                continue;
            }
            for (FileStatus chk : list(fs, run.getPath())) {
                if (chk.isDir()
                        && CHECKPOINT.matcher(chk.getPath().getName()).matches()
                        && !chk.getPath().equals(keep.path())) {
                    fs.delete(chk.getPath(), true);
                    deleted++;
                }
            }
        }
        return deleted;
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
