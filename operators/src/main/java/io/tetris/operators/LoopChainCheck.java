package io.tetris.operators;

import java.util.List;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;

/**
 * Refuses a job graph in which the four decode-loop operators do not share one task: the in-JVM
 * feedback between verify and the micro-batcher only works inside one chain.
 */
public final class LoopChainCheck {

    private static final List<String> LOOP =
            List.of(
                    OperatorNames.BATCHER,
                    OperatorNames.DRAFT,
                    OperatorNames.WINDOW,
                    OperatorNames.VERIFY);

    private LoopChainCheck() {}

    /** Throws {@link IllegalStateException} with what to change when the loop is split. */
    public static void verify(JobGraph graph) {
        for (JobVertex vertex : graph.getVertices()) {
            String name = vertex.getName();
            if (name.contains(OperatorNames.BATCHER)) {
                List<String> missing =
                        LOOP.stream().filter(op -> !containsOperator(name, op)).toList();
                if (missing.isEmpty()) {
                    return;
                }
                throw new IllegalStateException(
                        "the decode loop is split across tasks: "
                                + missing
                                + " not chained with "
                                + OperatorNames.BATCHER
                                + " (task '"
                                + name
                                + "'). Keep operator chaining enabled"
                                + " (pipeline.operator-chaining.enabled: true) and do not"
                                + " change the loop operators' parallelism or slot sharing.");
            }
        }
        throw new IllegalStateException("the job graph has no " + OperatorNames.BATCHER);
    }

    private static boolean containsOperator(String vertexName, String operator) {
        // Chained names read "a -> (b -> c, d: Writer)": split on arrows, commas and brackets.
        for (String part : vertexName.split("\\s*(->|,|\\(|\\))\\s*")) {
            String name = part.trim();
            if (name.equals(operator) || name.startsWith(operator + ":")) {
                return true;
            }
        }
        return false;
    }
}
