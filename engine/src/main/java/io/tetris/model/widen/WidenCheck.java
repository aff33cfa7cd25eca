package io.tetris.model.widen;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.tetris.core.LogitsTransform;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether a widened target computes the same function as its source: greedy decoding from each
 * prompt on the source, and at every step the next-token log-probabilities of both models over the
 * whole vocabulary compared, and the widened model's own greedy choice. Full passes with an empty
 * cache, so the check depends on nothing but the two graphs.
 */
public final class WidenCheck {

    /**
     * @param maxLogProbDelta the largest |log p_widened - log p_source| seen
     * @param steps next-token distributions compared
     * @param greedyDifferences steps where the widened model's argmax differed
     */
    public record Result(double maxLogProbDelta, int steps, int greedyDifferences) {
        public boolean holds(double tolerance) {
            return maxLogProbDelta <= tolerance && greedyDifferences == 0;
        }
    }

    private WidenCheck() {}

    /**
     * Compares over {@code newTokens} greedy steps from each of {@code prompts}, on a thread with a
     * stack large enough for ONNX Runtime's session start-up.
     */
    public static Result compare(Path source, Path widened, List<int[]> prompts, int newTokens) {
        return io.tetris.model.DjlRuntime.onLargeStack(
                "widen-check", () -> run(source, widened, prompts, newTokens));
    }

    private static Result run(Path source, Path widened, List<int[]> prompts, int newTokens)
            throws OrtException {
        io.tetris.model.DjlRuntime.ensureOffline();
        // DJL's engine creates ONNX Runtime's environment with its thread settings; created here
        // first, every later DJL model in this process would fail.
        ai.djl.engine.Engine.getEngine("OnnxRuntime");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession a = env.createSession(source.toString(), options);
                OrtSession b = env.createSession(widened.toString(), options)) {
            double worst = 0;
            int steps = 0;
            int differences = 0;
            for (int[] prompt : prompts) {
                int[] tokens = prompt.clone();
                for (int step = 0; step < newTokens; step++) {
                    float[] p = lastLogProbs(env, a, tokens);
                    float[] q = lastLogProbs(env, b, tokens);
                    for (int v = 0; v < p.length; v++) {
                        worst = Math.max(worst, Math.abs(p[v] - q[v]));
                    }
                    int next = LogitsTransform.argmax(p);
                    if (LogitsTransform.argmax(q) != next) {
                        differences++;
                    }
                    steps++;
                    tokens = java.util.Arrays.copyOf(tokens, tokens.length + 1);
                    tokens[tokens.length - 1] = next;
                }
            }
            return new Result(worst, steps, differences);
        }
    }

    private static float[] lastLogProbs(OrtEnvironment env, OrtSession session, int[] tokens)
            throws OrtException {
        int n = tokens.length;
        long[] ids = new long[n];
        long[] positions = new long[n];
        long[] mask = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = tokens[i];
            positions[i] = i;
            mask[i] = 1;
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            long[] shape = {1, n};
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            inputs.put(
                    "attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (session.getInputNames().contains("position_ids")) {
                inputs.put(
                        "position_ids",
                        OnnxTensor.createTensor(env, LongBuffer.wrap(positions), shape));
            }
            for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                if (e.getKey().startsWith("past_key_values.")) {
                    long[] dims = ((TensorInfo) e.getValue().getInfo()).getShape().clone();
                    dims[0] = 1;
                    dims[2] = 0;
                    inputs.put(
                            e.getKey(),
                            OnnxTensor.createTensor(env, FloatBuffer.allocate(0), dims));
                }
            }
            try (OrtSession.Result result = session.run(inputs, java.util.Set.of("logits"))) {
                float[][][] logits = (float[][][]) result.get(0).getValue();
                return LogitsTransform.logSoftmax(logits[0][n - 1]);
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }
}
