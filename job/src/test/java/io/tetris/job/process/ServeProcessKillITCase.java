package io.tetris.job.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.CommittedOutcome;
import io.tetris.job.TopicReader;
import io.tetris.job.kafka.KafkaTopics;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.BundledModels;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.SingleObjectCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exactly-once across process death, with every party its own OS process: a Kafka broker, and
 * {@code tetris serve} started with the same command line each time, killed with SIGKILL at several
 * moments and started again. A read_committed consumer must then see exactly one result per
 * request, equal to a failure-free run's, and the token events, de-duplicated by (request_id, seq),
 * equal to the failure-free run's.
 */
class ServeProcessKillITCase {

    private static final int REQUESTS = 64;

    /**
     * Requests three times the usual length: the work then spans many checkpoints, so the last
     * quarter is still running when the third kill comes (at the usual length the engine finishes
     * it within one checkpoint, and the kill would find everything committed).
     */
    private static final int LENGTH_FACTOR = 3;

    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(4);

    /** Kill once generation has started (token events arrive) but nothing is committed yet. */
    private static final IntPredicate BEFORE_ANY_RESULT = committed -> committed == 0;

    // Kept after the run (under the build directory): the processes' logs explain a failure.
    private static Path dir;
    private static BrokerProcess broker;
    private static CommittedOutcome failureFree;

    @BeforeAll
    static void brokerAndAFailureFreeRun() throws Exception {
        dir = java.nio.file.Files.createTempDirectory("process-kill-");
        broker = BrokerProcess.start(dir.resolve("broker"));
        failureFree = runWithKills("clean", List.of(), new ArrayList<>());
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
    void serveKilledBeforeAnyResultMidRunAndNearTheEndLosesAndDuplicatesNothing() throws Exception {
        List<Integer> committedAtKill = new ArrayList<>();
        CommittedOutcome killed =
                runWithKills(
                        "killed",
                        List.of(
                                BEFORE_ANY_RESULT,
                                committed -> committed >= REQUESTS / 2,
                                committed -> committed >= REQUESTS - 16),
                        committedAtKill);
        assertThat(committedAtKill.get(0)).as("first kill before any result").isZero();
        assertThat(committedAtKill.get(1)).as("second kill mid-run").isLessThan(REQUESTS);
        assertThat(committedAtKill.get(2)).as("third kill near the end").isLessThan(REQUESTS);
        killed.assertSameAs(failureFree);

        // Answered ids sent again after one more restart are refused, not executed again.
        TopicNames topics = topics("killed");
        try (ChildJvm serve = serve("killed", topics)) {
            send(topics, 0, 3);
            awaitErrors(topics, 3, serve);
            Thread.sleep(2_000);
        }
        List<GenerationError> errors = errors(topics);
        assertThat(errors)
                .extracting(GenerationError::getCode)
                .containsOnly(ErrorCode.DUPLICATE_REQUEST_ID);
        assertThat(errors)
                .extracting(GenerationError::getRequestId)
                .containsExactlyInAnyOrder("r0", "r1", "r2");
        read(topics).assertSameAs(failureFree);
    }

    @Test
    void aBrokerKilledAndRestartedMidRunLosesAndDuplicatesNothing() throws Exception {
        String name = "broker-kill";
        TopicNames topics = topics(name);
        try (ChildJvm serve = serve(name, topics)) {
            sendWorkload(topics);
            awaitCommitted(topics, c -> c >= REQUESTS / 3, serve);
            broker.kill();
            Thread.sleep(5_000);
            broker.restart();
            awaitCommitted(topics, c -> c >= REQUESTS, serve);
            Thread.sleep(3_000); // a few more checkpoints: a duplicate would be committed now
        }
        read(topics).assertSameAs(failureFree);
    }

    /**
     * Sends the workload, starts {@code serve}, kills it when the committed result count first
     * meets each condition in turn, starts it again with the same command, and reads the outcome
     * once every request has a committed result.
     */
    private static CommittedOutcome runWithKills(
            String name, List<IntPredicate> killWhen, List<Integer> committedAtKill)
            throws Exception {
        TopicNames topics = topics(name);
        sendWorkload(topics);
        for (IntPredicate when : killWhen) {
            try (ChildJvm serve = serve(name, topics)) {
                if (when == BEFORE_ANY_RESULT) {
                    awaitFirstTokenEvent(topics, serve);
                }
                committedAtKill.add(awaitCommitted(topics, when, serve));
                serve.kill();
                System.out.println(name + ": serve killed at " + committedAtKill + " results");
            }
        }
        try (ChildJvm serve = serve(name, topics)) {
            awaitCommitted(topics, c -> c >= REQUESTS, serve);
            Thread.sleep(3_000); // a few more checkpoints: a duplicate would be committed now
        }
        return read(topics);
    }

    private static TopicNames topics(String name) {
        TopicNames topics = TopicNames.withPrefix(name);
        KafkaTopics.ensureExist(broker.settings(), topics, 2, (short) 1, Duration.ofMinutes(1));
        return topics;
    }

    /** The command a user runs, the same at every start. */
    private static ChildJvm serve(String name, TopicNames topics) throws Exception {
        return ServeCommandLine.start(
                dir.resolve(name + "-serve.log"),
                ServeCommandLine.of(
                        broker,
                        topics,
                        BundledModels.dir(),
                        dir.resolve("state"),
                        "--create-topics",
                        "--group-id",
                        name,
                        "--transactional-id-prefix",
                        name + "-results",
                        "--checkpoint-interval",
                        "500"));
    }

    private static void sendWorkload(TopicNames topics) {
        send(topics, 0, REQUESTS);
    }

    /** Requests r{from} to r{to - 1}: half greedy, half seeded sampling, of different lengths. */
    private static void send(TopicNames topics, int from, int to) {
        MixedWorkload.send(
                broker.settings(),
                topics.requests(),
                MixedWorkload.requests("r", from, to, LENGTH_FACTOR));
    }

    /** Waits until the first token event of the run is on the tokens topic. */
    private static void awaitFirstTokenEvent(TopicNames topics, ChildJvm serve) throws Exception {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        while (TopicReader.readAll(broker.settings(), topics.tokens()).isEmpty()) {
            if (!serve.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("no token event; " + serve.tail());
            }
            Thread.sleep(50);
        }
    }

    private static int awaitCommitted(TopicNames topics, IntPredicate when, ChildJvm serve)
            throws Exception {
        return CommittedResults.await(
                broker.settings(), topics.results(), when, serve, RUN_TIMEOUT);
    }

    private static void awaitErrors(TopicNames topics, int count, ChildJvm serve) throws Exception {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        while (errors(topics).size() < count) {
            if (!serve.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("no " + count + " errors; " + serve.tail());
            }
            Thread.sleep(100);
        }
    }

    private static List<GenerationError> errors(TopicNames topics) {
        return TopicReader.readAll(broker.settings(), topics.errors()).stream()
                .map(v -> SingleObjectCodec.ERROR.decode(v).toOptional().orElseThrow())
                .toList();
    }

    private static CommittedOutcome read(TopicNames topics) {
        return CommittedOutcome.read(broker.settings(), topics);
    }
}
