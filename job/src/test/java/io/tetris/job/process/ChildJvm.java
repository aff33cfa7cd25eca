package io.tetris.job.process;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Java main class run as its own OS process with the test's classpath and module flags, output
 * appended to a log file, so a test can kill it with SIGKILL and start it again as a user would.
 */
final class ChildJvm implements AutoCloseable {

    private final Path log;
    private final Process process;

    private ChildJvm(Path log, Process process) {
        this.log = log;
        this.process = process;
    }

    /** Starts {@code mainClass} with {@code args}; its stdout and stderr go to {@code log}. */
    static ChildJvm start(Path log, String heap, String mainClass, List<String> args)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // The module flags Flink needs and the DJL offline switches; not the heap or agents.
            if (arg.startsWith("--add-")
                    || arg.startsWith("--enable-native-access")
                    || arg.startsWith("-XX:+UseG1GC")
                    || arg.startsWith("-XX:+IgnoreUnrecognizedVMOptions")
                    || arg.startsWith("-Dai.djl")
                    || arg.startsWith("-DOPT_OUT")) {
                command.add(arg);
            }
        }
        command.add("-cp");
        command.add(classpath());
        command.add(mainClass);
        command.addAll(args);
        Files.createDirectories(log.getParent());
        Files.writeString(
                log,
                "\n===== " + String.join(" ", args) + "\n",
                StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        Process process =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .start();
        return new ChildJvm(log, process);
    }

    /** The test's real classpath: surefire and failsafe hide it behind a manifest-only jar. */
    private static String classpath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hooks, no flush, no cancel, as a crash or an OOM killer would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Waits for the process to exit by itself and returns its exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("process did not exit within " + timeout + "; log: " + log);
        }
        return process.exitValue();
    }

    /** Waits until the log contains {@code text}; fails early when the process dies. */
    void awaitLog(String text, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.readString(log, StandardCharsets.UTF_8).contains(text)) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError(
                        "process exited with "
                                + process.exitValue()
                                + " before '"
                                + text
                                + "'; "
                                + tail());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' within " + timeout + "; " + tail());
    }

    /** The end of the log, for failure messages. */
    String tail() throws IOException {
        String all = Files.readString(log, StandardCharsets.UTF_8);
        return "log " + log + ":\n" + all.substring(Math.max(0, all.length() - 6000));
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
