package io.tetris.operators.loop;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.functions.RuntimeContext;

/**
 * Restarts of a job's decode-loop tasks seen by this JVM: the highest task attempt number that
 * opened one. Meaningful for embedded runs (demo, tests), where the whole job is in one JVM. It
 * holds counts only; nothing a round or a policy needs lives outside Flink state.
 */
public final class TaskAttempts {

    private static final Map<String, Integer> HIGHEST = new ConcurrentHashMap<>();

    private TaskAttempts() {}

    static void opened(RuntimeContext context) {
        HIGHEST.merge(
                context.getJobInfo().getJobId().toString(),
                context.getTaskInfo().getAttemptNumber(),
                Math::max);
    }

    /** The highest attempt number of a loop task of {@code jobId} opened in this JVM. */
    public static int restartsObserved(String jobId) {
        return HIGHEST.getOrDefault(jobId, 0);
    }
}
