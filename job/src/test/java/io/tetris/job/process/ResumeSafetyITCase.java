package io.tetris.job.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.CommittedOutcome;
import io.tetris.job.TopicReader;
import io.tetris.job.kafka.KafkaTopics;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.BundledModels;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Everything around the automatic resume, by processes: a broker and {@code tetris serve} each
 * their own OS process, {@code serve} started with the same command a user would type, killed with
 * SIGKILL, its checkpoints damaged on disk, or started twice; a read_committed consumer must then
 * see exactly one result per request, equal to a failure-free run's, or {@code serve} must refuse
 * with a line that says why.
 */
class ResumeSafetyITCase {

    private static final int REQUESTS = 40;
    private static final int LENGTH_FACTOR = 3;
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(4);

    private static Path dir;
    private static BrokerProcess broker;
    private static CommittedOutcome failureFree;

    @BeforeAll
    static void brokerAndAFailureFreeRun() throws Exception {
        dir = Files.createTempDirectory("resume-safety-");
        broker = BrokerProcess.start(dir.resolve("broker"));
        String name = "clean";
        TopicNames topics = topics(broker, name);
        send(broker, topics, 0, REQUESTS);
        try (ChildJvm serve = serve(broker, name, topics, "state")) {
            awaitCommitted(broker, topics, c -> c >= REQUESTS, serve);
        }
        failureFree = CommittedOutcome.read(broker.settings(), topics);
        assertThat(failureFree.counts().values()).containsOnly(1);
        assertThat(failureFree.results()).hasSize(REQUESTS);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aCheckpointTakenAgainstAnotherKafkaClusterIsRefusedAndAFreshStartAnswersAll()
            throws Exception {
        String name = "foreign";
        TopicNames topics = topics(broker, name);
        send(broker, topics, 0, REQUESTS);
        try (ChildJvm serve = serve(broker, name, topics, "foreign-state")) {
            awaitCommitted(broker, topics, c -> c >= REQUESTS / 4, serve);
            serve.kill();
        }
        // A new cluster with the same topic names and the requests waiting: same command.
        try (BrokerProcess other = BrokerProcess.start(dir.resolve("other-broker"))) {
            topics(other, name);
            send(other, topics, 0, REQUESTS);
            try (ChildJvm refused =
                    ChildJvm.start(
                            dir.resolve(name + "-refused.log"),
                            "1g",
                            MAIN,
                            args(other, name, topics, "foreign-state"))) {
                assertThat(refused.awaitExit(Duration.ofMinutes(1))).isNotZero();
                assertThat(refused.tail())
                        .contains("refusing to resume job")
                        .contains("Kafka cluster")
                        .contains("--fresh-start");
            }
            assertThat(TopicReader.readAll(other.settings(), topics.results())).isEmpty();
            try (ChildJvm fresh = serve(other, name, topics, "foreign-state", "--fresh-start")) {
                awaitCommitted(other, topics, c -> c >= REQUESTS, fresh);
                Thread.sleep(3_000); // a few more checkpoints: a duplicate would be committed now
            }
            CommittedOutcome.read(other.settings(), topics).assertSameAs(failureFree);
        }
    }

    @Test
    void aCorruptedStateFileOfTheNewestCheckpointFallsBackWithinAMinuteAndStaysExactlyOnce()
            throws Exception {
        resumeAfterDamage("corrupt-state", ResumeSafetyITCase::cutTheLargestStateFile);
    }

    @Test
    void aTruncatedNewestMetadataFallsBackAndStaysExactlyOnce() throws Exception {
        resumeAfterDamage("cut-metadata", chk -> cutInHalf(chk.resolve("_metadata")));
    }

    @Test
    void aSecondServeWithTheSameJobNameRefusesToRunWhetherStartedTogetherOrLater()
            throws Exception {
        String name = "twice";
        TopicNames topics = topics(broker, name);
        send(broker, topics, 0, REQUESTS);
        ChildJvm a = ChildJvm.start(dir.resolve(name + "-a.log"), "1g", MAIN, args(name, topics));
        ChildJvm b = ChildJvm.start(dir.resolve(name + "-b.log"), "1g", MAIN, args(name, topics));
        try (a;
                b) {
            ChildJvm refused = awaitOneExits(a, b);
            ChildJvm running = refused == a ? b : a;
            assertThat(refused.tail()).contains("is already running").contains("--job-name");
            awaitCommitted(broker, topics, c -> c >= REQUESTS / 2, running);
            try (ChildJvm later =
                    ChildJvm.start(dir.resolve(name + "-c.log"), "1g", MAIN, args(name, topics))) {
                assertThat(later.awaitExit(Duration.ofMinutes(1))).isNotZero();
                assertThat(later.tail())
                        .contains("is already running")
                        .contains("pid " + running.pid());
            }
            awaitCommitted(broker, topics, c -> c >= REQUESTS, running);
            Thread.sleep(3_000);
        }
        CommittedOutcome.read(broker.settings(), topics).assertSameAs(failureFree);
    }

    /** Damages the newest checkpoint after a kill, runs the same command, expects all once. */
    private static void resumeAfterDamage(String name, Damage damage) throws Exception {
        TopicNames topics = topics(broker, name);
        send(broker, topics, 0, REQUESTS);
        String state = name + "-state";
        try (ChildJvm serve = serve(broker, name, topics, state)) {
            awaitCommitted(broker, topics, c -> c >= REQUESTS / 2, serve);
            serve.kill();
        }
        Path newest = newestCheckpoint(dir.resolve(state));
        damage.apply(newest);
        System.out.println(name + ": damaged " + newest);
        try (ChildJvm serve = serve(broker, name, topics, state)) {
            serve.awaitLog("falling back past newer checkpoints", Duration.ofMinutes(1));
            awaitCommitted(broker, topics, c -> c >= REQUESTS, serve);
            Thread.sleep(3_000); // a few more checkpoints: a duplicate would be committed now
            assertThat(restoreFailures(serve)).as("no restore loop").isLessThanOrEqualTo(1);
        }
        CommittedOutcome.read(broker.settings(), topics).assertSameAs(failureFree);
    }

    @FunctionalInterface
    private interface Damage {
        void apply(Path checkpoint) throws IOException;
    }

    private static final String MAIN = "io.tetris.job.cli.Main";

    private static int restoreFailures(ChildJvm serve) throws IOException {
        String log = serve.tail();
        return log.split("could not be restored \\(", -1).length - 1;
    }

    /** The newest completed checkpoint directory under a job's state folder. */
    private static Path newestCheckpoint(Path state) throws IOException {
        try (Stream<Path> files = Files.walk(state)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .max(Comparator.comparingLong(ResumeSafetyITCase::modified))
                    .orElseThrow(() -> new AssertionError("no checkpoint under " + state))
                    .getParent();
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void cutTheLargestStateFile(Path checkpoint) throws IOException {
        Path largest;
        try (Stream<Path> files = Files.list(checkpoint)) {
            largest =
                    files.filter(p -> !p.getFileName().toString().startsWith("_"))
                            .max(Comparator.comparingLong(ResumeSafetyITCase::size))
                            .orElseThrow(
                                    () ->
                                            new AssertionError(
                                                    "no state file in "
                                                            + checkpoint
                                                            + " (all inlined in _metadata)"));
        }
        cutInHalf(largest);
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void cutInHalf(Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
    }

    private static ChildJvm awaitOneExits(ChildJvm a, ChildJvm b) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (!a.isAlive()) {
                return a;
            }
            if (!b.isAlive()) {
                return b;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("both serve processes run; " + a.tail() + "\n" + b.tail());
    }

    private static TopicNames topics(BrokerProcess on, String name) {
        TopicNames topics = TopicNames.withPrefix(name);
        KafkaTopics.ensureExist(on.settings(), topics, 2, (short) 1, Duration.ofMinutes(1));
        return topics;
    }

    private static List<String> args(String name, TopicNames topics, String... extra) {
        return args(broker, name, topics, name + "-state", extra);
    }

    /** The command a user runs, the same at every start. */
    private static List<String> args(
            BrokerProcess on, String name, TopicNames topics, String state, String... extra) {
        List<String> options =
                new ArrayList<>(
                        List.of(
                                "--create-topics",
                                "--group-id",
                                name,
                                "--transactional-id-prefix",
                                name + "-results",
                                "--checkpoint-interval",
                                "500"));
        options.addAll(List.of(extra));
        return ServeCommandLine.of(
                on,
                topics,
                BundledModels.dir(),
                dir.resolve(state),
                options.toArray(String[]::new));
    }

    private static ChildJvm serve(
            BrokerProcess on, String name, TopicNames topics, String state, String... extra)
            throws Exception {
        return ServeCommandLine.start(
                dir.resolve(name + "-serve.log"), args(on, name, topics, state, extra));
    }

    private static void send(BrokerProcess on, TopicNames topics, int from, int to) {
        MixedWorkload.send(
                on.settings(),
                topics.requests(),
                MixedWorkload.requests("r", from, to, LENGTH_FACTOR));
    }

    private static int awaitCommitted(
            BrokerProcess on, TopicNames topics, IntPredicate when, ChildJvm serve)
            throws Exception {
        return CommittedResults.await(on.settings(), topics.results(), when, serve, RUN_TIMEOUT);
    }
}
