package io.tetris.operators.replica;

import io.tetris.core.policy.BudgetPolicy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.flink.api.common.functions.RuntimeContext;

/**
 * The in-JVM feedback channel of the decode loop: one {@link Replica} per (job, subtask, attempt),
 * shared by the operators chained into that subtask's task (the statefun feedback pattern). A new
 * attempt after a failure gets a fresh replica, so nothing leaks across restarts.
 */
public final class ReplicaRegistry {

    private record Key(String job, int subtask, int attempt) {}

    private static final Map<Key, Replica> REPLICAS = new ConcurrentHashMap<>();
    private static final Map<String, Integer> HIGHEST_ATTEMPT = new ConcurrentHashMap<>();

    private ReplicaRegistry() {}

    /**
     * The replica of the calling operator's task, created with {@code policy} by the first of the
     * chained operators to open. Pair with {@link #release}.
     */
    public static Replica acquire(RuntimeContext context, Supplier<BudgetPolicy> policy) {
        HIGHEST_ATTEMPT.merge(
                context.getJobInfo().getJobId().toString(),
                context.getTaskInfo().getAttemptNumber(),
                Math::max);
        Replica replica = REPLICAS.computeIfAbsent(key(context), k -> new Replica(policy.get()));
        synchronized (replica) {
            replica.acquire();
        }
        return replica;
    }

    /** {@link #acquire(RuntimeContext, Supplier)} with the policy the configuration names. */
    public static Replica acquire(RuntimeContext context, io.tetris.config.TetrisConfig config) {
        return acquire(context, () -> config.policy().create(config.costModel()));
    }

    /** Drops the replica once the last of its operators has closed. */
    public static void release(RuntimeContext context) {
        Key key = key(context);
        REPLICAS.computeIfPresent(
                key,
                (k, replica) -> {
                    synchronized (replica) {
                        return replica.release() <= 0 ? null : replica;
                    }
                });
    }

    /**
     * Restarts of a job's loop tasks seen by this JVM: the highest task attempt number that opened
     * a loop operator. Meaningful for embedded runs (demo, tests), where the whole job is in one
     * JVM.
     */
    public static int restartsObserved(String jobId) {
        return HIGHEST_ATTEMPT.getOrDefault(jobId, 0);
    }

    /** Replicas currently registered (for tests). */
    static int size() {
        return REPLICAS.size();
    }

    private static Key key(RuntimeContext context) {
        return new Key(
                context.getJobInfo().getJobId().toString(),
                context.getTaskInfo().getIndexOfThisSubtask(),
                context.getTaskInfo().getAttemptNumber());
    }
}
