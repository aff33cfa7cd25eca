package io.tetris.model.widen;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.tetris.core.LogitsTransform;
import java.nio.ByteBuffer;
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

    /**
     * The bound on |Δ log p| for fp32 weights: the widened sums add the same products in another
     * order, a few float roundings apart (measured about 4e-5 at m = 8 on the bundled targets).
     */
    public static final double FP32_TOLERANCE = 1e-4;

    /**
     * The bound on |Δ log p| for fp16 weights, against the fp16 source's own log-probabilities: the
     * weights divide exactly (m a power of two), but every activation is rounded to fp16's 11
     * significant bits (a relative step of 2^-11 ≈ 4.9e-4), and the widened sums run over m times
     * the terms in another order, so an activation can round to the neighbouring fp16 value. The
     * log-probabilities compared are around -5 to -15, where one step is 0.004 to 0.008, and each
     * of the four layers rounds again: 0.05 allows a few such steps per layer, as the fp16 pair's
     * own test does against PyTorch, and stays far below the gap a wrong graph makes (a query head
     * reading the wrong KV head, or a missing 1/m, moves log-probabilities by whole units).
     * Measured on the bundled Llama-style fp16 target: 0.013 at m = 2, 0.017 at m = 8 (24 prompts,
     * 32 greedy tokens each).
     */
    public static final double FP16_TOLERANCE = 0.05;

    private WidenCheck() {}

    /** {@link #FP16_TOLERANCE} for fp16 weights, else {@link #FP32_TOLERANCE}. */
    public static double tolerance(boolean fp16) {
        return fp16 ? FP16_TOLERANCE : FP32_TOLERANCE;
    }

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
                    TensorInfo info = (TensorInfo) e.getValue().getInfo();
                    long[] dims = info.getShape().clone();
                    dims[0] = 1;
                    dims[2] = 0;
                    inputs.put( // empty, in the cache's type (fp32 or fp16)
                            e.getKey(),
                            OnnxTensor.createTensor(
                                    env, ByteBuffer.allocateDirect(0), dims, info.type));
                }
            }
            try (OrtSession.Result result = session.run(inputs, java.util.Set.of("logits"))) {
                // [1, n, vocabulary], fp32 or fp16 (read as float)
                java.nio.FloatBuffer logits = ((OnnxTensor) result.get(0)).getFloatBuffer();
                float[] last = new float[logits.capacity() / n];
                logits.get((n - 1) * last.length, last);
                return LogitsTransform.logSoftmax(last);
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }
}
