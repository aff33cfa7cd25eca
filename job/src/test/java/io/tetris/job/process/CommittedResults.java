package io.tetris.job.process;

import io.tetris.job.TopicReader;
import io.tetris.job.kafka.KafkaClientSettings;
import java.time.Duration;
import java.util.function.IntPredicate;

/** Waiting on what a read_committed consumer sees of a results topic while {@code serve} runs. */
final class CommittedResults {

    private CommittedResults() {}

    /**
     * Polls the committed results until {@code when} holds for their count, and returns it; fails
     * when {@code serve} exits first or the time runs out, with the end of its log.
     */
    static int await(
            KafkaClientSettings kafka,
            String resultsTopic,
            IntPredicate when,
            ChildJvm serve,
            Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            int committed = TopicReader.readAll(kafka, resultsTopic).size();
            if (when.test(committed)) {
                return committed;
            }
            if (!serve.isAlive()) {
                throw new AssertionError("serve exited; " + serve.tail());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("results did not arrive in time; " + serve.tail());
    }
}
