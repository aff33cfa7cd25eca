package io.tetris.job.state;

import io.tetris.job.kafka.AdminCalls;
import io.tetris.job.kafka.KafkaClientSettings;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;

/**
 * The exactly-once results sink's Kafka transactions, seen from {@code serve} before a run starts.
 * Flink's sink names them {@code <prefix>-<subtask>-<checkpoint>}, one per subtask and checkpoint.
 */
public final class ResultTransactions {

    private ResultTransactions() {}

    /**
     * Says what became of the transactions of the checkpoint a run resumes from. Flink commits them
     * again on restore; for those committed before the restart Kafka answers that retry with a
     * fenced producer, and Flink's {@code KafkaCommitter} logs it as an error that "most likely
     * signals data loss". Only an aborted one loses results, so this line tells them apart.
     */
    public static String describeResumed(
            KafkaClientSettings kafka, String prefix, long checkpoint) {
        Map<TransactionState, List<String>> byState = new TreeMap<>();
        try {
            for (TransactionListing t :
                    AdminCalls.with(
                            kafka,
                            "list the result transactions",
                            admin -> admin.listTransactions().all().get(60, TimeUnit.SECONDS))) {
                if (checkpointOf(t.transactionalId(), prefix) == checkpoint) {
                    byState.computeIfAbsent(t.state(), s -> new ArrayList<>())
                            .add(t.transactionalId());
                }
            }
        } catch (IllegalStateException e) {
            return "Result transactions of checkpoint " + checkpoint + ": " + e.getMessage();
        }
        List<String> committed = byState.getOrDefault(TransactionState.COMPLETE_COMMIT, List.of());
        List<String> aborted = byState.getOrDefault(TransactionState.COMPLETE_ABORT, List.of());
        StringBuilder line =
                new StringBuilder("Result transactions of checkpoint " + checkpoint + ": ");
        if (byState.isEmpty()) {
            return line.append("none known to Kafka (no results in it)").toString();
        }
        line.append(committed.size()).append(" committed before the restart");
        if (!committed.isEmpty()) {
            line.append(
                    " (Flink's KafkaCommitter may log 'Unable to commit transaction ... because"
                            + " its producer is already fenced ... most likely signals data"
                            + " loss' for them: that is its repeat of a finished commit,"
                            + " nothing is lost)");
        }
        byState.forEach(
                (state, ids) -> {
                    if (state != TransactionState.COMPLETE_COMMIT
                            && state != TransactionState.COMPLETE_ABORT) {
                        line.append(", ")
                                .append(ids.size())
                                .append(" ")
                                .append(
                                        switch (state) {
                                            case EMPTY -> "with nothing open";
                                            case ONGOING, PREPARE_COMMIT ->
                                                    "open, committed by the job as it restores";
                                            default -> "in state " + state;
                                        });
                    }
                });
        if (!aborted.isEmpty()) {
            line.append("; WARNING: ")
                    .append(aborted)
                    .append(
                            " were aborted before the job could commit them (transaction"
                                    + " timeout exceeded while it was down?): their results"
                                    + " are lost");
        }
        return line.toString();
    }

    /**
     * Fences (aborts) the open transactions of checkpoints after {@code resumed}, as the resumed
     * job would: while open they hide every later committed record from {@code read_committed}
     * readers.
     */
    static void fenceAfter(Admin admin, String prefix, long resumed, PrintStream log)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<String> fence = new ArrayList<>();
        for (TransactionListing t : admin.listTransactions().all().get(60, TimeUnit.SECONDS)) {
            if (t.state() == TransactionState.ONGOING
                    && checkpointOf(t.transactionalId(), prefix) > resumed) {
                fence.add(t.transactionalId());
            }
        }
        if (!fence.isEmpty()) {
            log.println(
                    "Aborting "
                            + fence.size()
                            + " open result transactions of checkpoints after "
                            + resumed
                            + ": "
                            + fence);
            admin.fenceProducers(fence).all().get(60, TimeUnit.SECONDS);
        }
    }

    /** The checkpoint id in {@code prefix-subtask-checkpoint}, or -1 for another producer's id. */
    static long checkpointOf(String transactionalId, String prefix) {
        if (!transactionalId.startsWith(prefix + "-")) {
            return -1;
        }
        String[] rest = transactionalId.substring(prefix.length() + 1).split("-");
        if (rest.length != 2) {
            return -1;
        }
        try {
            Integer.parseInt(rest[0]);
            return Long.parseLong(rest[1]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
