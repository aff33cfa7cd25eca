package io.tetris.job.state;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import org.apache.flink.core.fs.Path;

/**
 * One running job per name: an exclusive lock on a file next to the job's checkpoints, held for the
 * life of the process that runs (or attaches to) the job. The operating system releases it when the
 * process dies, SIGKILL included, so a lock is never left behind. Two jobs with one name would read
 * the same requests, fence each other's result transactions and delete each other's checkpoints.
 *
 * <p>Only a local file system can lock; on other file systems (s3://, hdfs://) there is no lock and
 * a remote cluster's own list of running jobs is the check.
 */
public final class JobLock implements AutoCloseable {

    static final String FILE = "serve.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private JobLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Whether {@code directory} is on a file system this lock works on. */
    public static boolean supported(Path directory) {
        String scheme = directory.toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }

    /**
     * Takes the lock of the job in {@code directory}.
     *
     * @throws JobRunningException naming the holder when another process holds it
     */
    public static JobLock acquire(Path directory, String jobName) throws IOException {
        java.nio.file.Path dir = Paths.get(directory.toUri().getPath());
        Files.createDirectories(dir);
        java.nio.file.Path file = dir.resolve(FILE);
        FileChannel channel =
                FileChannel.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // held by this very process
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = holder(channel);
            channel.close();
            throw new JobRunningException(
                    "job '"
                            + jobName
                            + "' is already running: "
                            + (holder.isEmpty() ? "another process" : holder)
                            + " holds "
                            + file
                            + ". Stop that process first (its checkpoints are kept and this"
                            + " command resumes them), or give this one another --job-name.");
        }
        String owner =
                "the process with pid "
                        + ProcessHandle.current().pid()
                        + " on "
                        + host()
                        + ", running since "
                        + Instant.now();
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(owner.getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(true);
        return new JobLock(channel, lock);
    }

    private static String holder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(1024);
            int n = channel.read(buffer, 0);
            return n <= 0 ? "" : new String(buffer.array(), 0, n, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "this host";
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }

    /** Another process runs the job of this name. */
    public static final class JobRunningException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        public JobRunningException(String message) {
            super(message);
        }
    }
}
