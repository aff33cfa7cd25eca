package io.tetris.operators;

import io.tetris.schemas.GenerationRequest;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * Routes a request to a verifier replica by the hash of its id, choosing for each replica an
 * integer key that Flink's key-group assignment places on exactly that subtask, so every subtask of
 * the loop owns one replica key and one running batch.
 */
public final class ReplicaKeys implements KeySelector<GenerationRequest, Integer> {

    private static final long serialVersionUID = 1L;

    private final int[] keyOfReplica; // [replicas]

    public ReplicaKeys(int replicas, int maxParallelism) {
        if (replicas < 1 || maxParallelism < replicas) {
            throw new IllegalArgumentException(
                    "need 1 <= replicas <= max parallelism, got "
                            + replicas
                            + " and "
                            + maxParallelism);
        }
        keyOfReplica = new int[replicas];
        boolean[] found = new boolean[replicas];
        int remaining = replicas;
        for (int key = 0; remaining > 0; key++) {
            int subtask =
                    KeyGroupRangeAssignment.assignKeyToParallelOperator(
                            key, maxParallelism, replicas);
            if (!found[subtask]) {
                found[subtask] = true;
                keyOfReplica[subtask] = key;
                remaining--;
            }
        }
    }

    /** The key that lands on subtask {@code replica}. */
    public int keyOf(int replica) {
        return keyOfReplica[replica];
    }

    @Override
    public Integer getKey(GenerationRequest request) {
        return keyOfReplica[Math.floorMod(request.getRequestId().hashCode(), keyOfReplica.length)];
    }
}
