package io.tetris.job.state;

import io.tetris.job.state.DurableState.Checkpoint;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.checkpoint.Checkpoints;

/**
 * One job's state directory on its file system, as Flink lays it out ({@code
 * <flink-job-id>/chk-<n>/_metadata}) with the files {@link DurableState} keeps beside it: per run
 * {@value #RUN_FILE} and the {@value #ABANDONED} marker, per checkpoint the {@value #UNRESTORABLE}
 * marker, per job the answered-ids files of fallbacks. Reads and writes only; which checkpoint to
 * resume and what to delete is decided by {@link DurableState}.
 */
final class StateDirectory {

    private static final Pattern JOB_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern CHECKPOINT = Pattern.compile("chk-(\\d+)");
    private static final String METADATA = "_metadata";

    /** Per run: the Kafka identity it read and wrote, and the answered ids it was given. */
    static final String RUN_FILE = "tetris-run.properties";

    /** In a checkpoint directory: why it could not be restored. */
    static final String UNRESTORABLE = "_tetris_unrestorable";

    /** In a run directory: the run was given up by a {@code --fresh-start}. */
    static final String ABANDONED = "_tetris_abandoned";

    /** Per job: the files of request ids answered after the checkpoint a fallback resumed. */
    private static final String ANSWERED_DIR = "answered-ids";

    private final Path directory;
    private final FileSystem fs;

    StateDirectory(Path directory) throws IOException {
        this.directory = directory;
        this.fs = directory.getFileSystem();
    }

    Path path() {
        return directory;
    }

    /** The directory of the run {@code runId} (a Flink job id). */
    Path run(String runId) {
        return new Path(directory, runId);
    }

    /** The directories of every run of the job. */
    List<FileStatus> runs() throws IOException {
        List<FileStatus> runs = new ArrayList<>();
        for (FileStatus run : list(directory)) {
            if (run.isDir() && JOB_ID.matcher(run.getPath().getName()).matches()) {
                runs.add(run);
            }
        }
        return runs;
    }

    /** The checkpoint directories of {@code run}, completed or not. */
    List<Path> checkpointDirectories(Path run) throws IOException {
        List<Path> found = new ArrayList<>();
        for (FileStatus chk : list(run)) {
            if (chk.isDir() && CHECKPOINT.matcher(chk.getPath().getName()).matches()) {
                found.add(chk.getPath());
            }
        }
        return found;
    }

    /** Completed checkpoints of every run of the job, newest first. */
    List<Checkpoint> completedCheckpoints() throws IOException {
        List<Checkpoint> found = new ArrayList<>();
        for (FileStatus run : runs()) {
            for (FileStatus chk : list(run.getPath())) {
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
     *
     * @return how many were deleted
     */
    int deleteRunsWithoutCheckpoints() throws IOException {
        List<Checkpoint> completed = completedCheckpoints();
        int deleted = 0;
        for (FileStatus run : runs()) {
            if (completed.stream().noneMatch(c -> c.run().equals(run.getPath()))) {
                fs.delete(run.getPath(), true);
                deleted++;
            }
        }
        return deleted;
    }

    /** Why Flink cannot read the checkpoint's metadata (a kill can cut a file short), if so. */
    Optional<String> unreadable(Checkpoint c) {
        try (DataInputStream in = new DataInputStream(fs.open(new Path(c.path(), METADATA)))) {
            Checkpoints.loadCheckpointMetadata(
                    in, DurableState.class.getClassLoader(), c.path().toString());
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of(String.valueOf(e));
        }
    }

    /** Why {@code c} could not be restored, if it was marked so. */
    Optional<String> unrestorable(Checkpoint c) throws IOException {
        return readText(new Path(c.path(), UNRESTORABLE));
    }

    void markUnrestorable(Checkpoint c, String reason) throws IOException {
        touch(new Path(c.path(), UNRESTORABLE), reason);
    }

    /** Whether a {@code --fresh-start} gave up the run in {@code run}. */
    boolean abandoned(Path run) throws IOException {
        return fs.exists(new Path(run, ABANDONED));
    }

    void abandon(Path run) throws IOException {
        touch(new Path(run, ABANDONED), "given up by --fresh-start");
    }

    /** The run's {@value #RUN_FILE}; empty if it has none. */
    Properties runProperties(Path run) throws IOException {
        Properties p = new Properties();
        Path file = new Path(run, RUN_FILE);
        if (fs.exists(file)) {
            try (InputStream in = fs.open(file)) {
                p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
            }
        }
        return p;
    }

    /** Creates the run's directory and writes its {@value #RUN_FILE}. */
    void writeRunProperties(Path run, Properties p, String comment) throws IOException {
        fs.mkdirs(run);
        try (OutputStream out =
                fs.create(new Path(run, RUN_FILE), FileSystem.WriteMode.OVERWRITE)) {
            var writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
            p.store(writer, comment);
            writer.flush();
        }
    }

    /** A new, not yet written file for the ids answered after checkpoint {@code checkpointId}. */
    Path newAnsweredIdsFile(long checkpointId) {
        return new Path(
                new Path(directory, ANSWERED_DIR),
                "after-chk-" + checkpointId + "-" + UUID.randomUUID() + ".ids");
    }

    /** Every file of answered ids, referred to by a run or not. */
    FileStatus[] answeredIdsFiles() throws IOException {
        return list(new Path(directory, ANSWERED_DIR));
    }

    /** The entries of {@code dir}; none if it does not exist. */
    private FileStatus[] list(Path dir) throws IOException {
        if (!fs.exists(dir)) {
            return new FileStatus[0];
        }
        FileStatus[] statuses = fs.listStatus(dir);
        return statuses == null ? new FileStatus[0] : statuses;
    }

    void delete(Path path, boolean recursive) throws IOException {
        fs.delete(path, recursive);
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
}
