package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.tetris.core.LogitsTransform;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Reduces a pass's logits where they were computed, so only what sampling needs crosses to the
 * host: for each wanted position its argmax, the argmax's log-probability and the runner-up's, plus
 * the full log-softmax rows of the positions that sample. A greedy position thus costs 16 bytes
 * out, not a vocabulary row.
 *
 * <p>In device memory this is a small ONNX graph run on the model's execution provider:
 *
 * <pre>
 * picked   = LogSoftmax(Gather(logits [n][vocab], wanted [w]), axis 1)   -> [w][vocab]
 * argmax   = ArgMax(picked, axis 1)        -> [w]  (first index among equals)
 * best     = ReduceMax(picked, axis 1)     -> [w]
 * second   = Gather(TopK(picked, 2, axis 1).values, 1, axis 1)  -> [w]  (the runner-up)
 * logprobs = Gather(picked, full [s])      -> [s][vocab]
 * </pre>
 *
 * In host memory, where ORT's fixed cost per run (about 100 us here) would exceed the work, the
 * same reduction reads the logits in place from Java; {@code onDevice} forces the graph anyway, so
 * the path a GPU takes is tested on the CPU.
 */
final class LogitsReducer implements AutoCloseable {

    private static final String LOGITS = "logits";
    private static final String WANTED = "wanted";
    private static final String FULL = "full";
    private static final String PICKED_LOGITS = "picked_logits";
    private static final String PICKED = "picked";
    static final String ARGMAX = "argmax";
    static final String BEST = "best";
    static final String SECOND = "second";
    private static final String TOP = "top";
    private static final String TOP_INDICES = "top_indices";
    static final String LOGPROBS = "logprobs";

    private final OrtApiShim ort;
    private final BoundGraph graph; // null: reduced on the host
    private final Pointer binding;
    private Memory wantedBuffer;
    private Memory fullBuffer;

    /**
     * What came back: {@code argmax [w]}, {@code best [w]}, {@code second [w]} (the runner-up's
     * log-probability), {@code logProbs [s][vocab]}.
     */
    record Reduced(
            long[] argmax, float[] best, float[] second, float[][] logProbs, long bytesOut) {}

    private LogitsReducer(OrtApiShim ort, BoundGraph graph) {
        this.ort = ort;
        this.graph = graph;
        this.binding = graph == null ? null : graph.binding();
    }

    /**
     * @param graph whether to reduce with the graph on the model's provider (logits in device
     *     memory) rather than read them in place (host memory)
     */
    static LogitsReducer create(OrtApiShim ort, OrtSession.SessionOptions options, boolean graph) {
        return new LogitsReducer(ort, graph ? new BoundGraph(ort, graph(), options) : null);
    }

    /** Whether this reducer runs the graph. */
    boolean usesGraph() {
        return graph != null;
    }

    /**
     * @param logits a float tensor whose elements are {@code n} rows of {@code vocab}, in {@code
     *     logitsInfo}'s memory
     * @param wanted {@code [w]} rows to reduce, {@code w >= 1}
     * @param full {@code [s]} indices into {@code wanted} whose full log-softmax rows are needed
     */
    Reduced reduce(
            Pointer logits,
            long n,
            int vocab,
            Pointer logitsInfo,
            long[] wanted,
            int[] full,
            Pointer cpuInfo,
            Pointer allocator) {
        if (graph == null) {
            return inPlace(logits, n, vocab, wanted, full);
        }
        long[] fullRows = new long[full.length];
        for (int i = 0; i < full.length; i++) {
            fullRows[i] = full[i];
        }
        wantedBuffer = OrtApiShim.fill(wantedBuffer, wanted);
        fullBuffer = OrtApiShim.fill(fullBuffer, fullRows);
        Pointer view = null;
        Pointer wantedValue = null;
        Pointer fullValue = null;
        Pointer[] outputs = null;
        try {
            view =
                    ort.createTensorOver(
                            logitsInfo,
                            ort.tensorData(logits),
                            n * vocab * Float.BYTES,
                            new long[] {n, vocab},
                            OrtApiShim.FLOAT);
            wantedValue = int64(cpuInfo, wantedBuffer, wanted.length);
            fullValue = int64(cpuInfo, fullBuffer, fullRows.length);
            ort.bindInput(binding, LOGITS, view);
            ort.bindInput(binding, WANTED, wantedValue);
            ort.bindInput(binding, FULL, fullValue);
            ort.clearBoundOutputs(binding);
            ort.bindOutputToDevice(binding, ARGMAX, cpuInfo);
            ort.bindOutputToDevice(binding, BEST, cpuInfo);
            ort.bindOutputToDevice(binding, SECOND, cpuInfo);
            ort.bindOutputToDevice(binding, LOGPROBS, cpuInfo);
            graph.run();
            outputs = ort.boundOutputValues(binding, allocator);
            int w = wanted.length;
            long[] argmax = new long[w];
            float[] best = new float[w];
            ort.tensorData(outputs[0]).read(0, argmax, 0, w);
            ort.tensorData(outputs[1]).read(0, best, 0, w);
            float[] second = new float[w];
            ort.tensorData(outputs[2]).read(0, second, 0, w);
            float[][] logProbs = new float[full.length][vocab];
            if (full.length > 0) {
                FloatBuffer rows =
                        ort.tensorData(outputs[3])
                                .getByteBuffer(0, (long) full.length * vocab * Float.BYTES)
                                .order(ByteOrder.nativeOrder())
                                .asFloatBuffer();
                for (float[] row : logProbs) {
                    rows.get(row);
                }
            }
            return new Reduced(argmax, best, second, logProbs, bytesOut(w, full.length, vocab));
        } finally {
            if (outputs != null) {
                for (Pointer p : outputs) {
                    ort.releaseValue(p);
                }
            }
            ort.clearBoundInputs(binding);
            ort.releaseValue(fullValue);
            ort.releaseValue(wantedValue);
            ort.releaseValue(view);
        }
    }

    /** The same reduction over logits in host memory, read where they lie. */
    private Reduced inPlace(Pointer logits, long n, int vocab, long[] wanted, int[] full) {
        FloatBuffer all =
                ort.tensorData(logits)
                        .getByteBuffer(0, n * vocab * Float.BYTES)
                        .order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
        int w = wanted.length;
        long[] argmax = new long[w];
        float[] best = new float[w];
        float[] second = new float[w];
        float[][] logProbs = new float[full.length][];
        float[] row = new float[vocab];
        int f = 0;
        for (int i = 0; i < w; i++) {
            boolean keep = f < full.length && full[f] == i;
            float[] target = keep ? new float[vocab] : row;
            all.get(Math.toIntExact(wanted[i] * vocab), target);
            int a = LogitsTransform.argmax(target);
            double logZ = LogitsTransform.logSumExp(target);
            argmax[i] = a;
            best[i] = (float) (target[a] - logZ);
            second[i] = (float) (io.tetris.model.NextTokens.runnerUp(target, a) - logZ);
            if (keep) {
                for (int v = 0; v < vocab; v++) {
                    target[v] = (float) (target[v] - logZ);
                }
                logProbs[f++] = target;
            }
        }
        return new Reduced(argmax, best, second, logProbs, bytesOut(w, full.length, vocab));
    }

    private static long bytesOut(int wanted, int full, int vocab) {
        return (long) wanted * (Long.BYTES + 2 * Float.BYTES) + (long) full * vocab * Float.BYTES;
    }

    @Override
    public void close() {
        if (graph != null) {
            graph.close();
        }
    }

    private Pointer int64(Pointer cpuInfo, Memory buffer, long n) {
        return ort.createTensorOver(
                cpuInfo, buffer, n * Long.BYTES, new long[] {n}, OrtApiShim.INT64);
    }

    private static OnnxMl.GraphProto.Builder graph() {
        OnnxMl.AttributeProto axis1 = OnnxGraphs.intAttribute("axis", 1);
        OnnxMl.AttributeProto axes1 = OnnxGraphs.intsAttribute("axes", 1); // opset 13 form
        OnnxMl.AttributeProto flat = OnnxGraphs.intAttribute("keepdims", 0);
        return OnnxMl.GraphProto.newBuilder()
                .setName("logits_reduce")
                .addInput(OnnxGraphs.value(LOGITS, DataType.FLOAT, "n", "vocab"))
                .addInput(OnnxGraphs.value(WANTED, DataType.INT64, "w"))
                .addInput(OnnxGraphs.value(FULL, DataType.INT64, "s"))
                .addOutput(OnnxGraphs.value(ARGMAX, DataType.INT64, "w"))
                .addOutput(OnnxGraphs.value(BEST, DataType.FLOAT, "w"))
                .addOutput(OnnxGraphs.value(SECOND, DataType.FLOAT, "w"))
                .addOutput(OnnxGraphs.value(LOGPROBS, DataType.FLOAT, "s", "vocab"))
                .addNode(
                        OnnxGraphs.node("Gather", PICKED_LOGITS, LOGITS, WANTED)
                                .addAttribute(OnnxGraphs.intAttribute("axis", 0)))
                .addNode(OnnxGraphs.node("LogSoftmax", PICKED, PICKED_LOGITS).addAttribute(axis1))
                .addNode(
                        OnnxGraphs.node("ArgMax", ARGMAX, PICKED)
                                .addAttribute(axis1)
                                .addAttribute(flat))
                .addNode(
                        OnnxGraphs.node("ReduceMax", BEST, PICKED)
                                .addAttribute(axes1)
                                .addAttribute(flat))
                .addInitializer(
                        OnnxMl.TensorProto.newBuilder()
                                .setName("two")
                                .setDataType(DataType.INT64.getNumber())
                                .addDims(1)
                                .addInt64Data(2))
                .addInitializer(
                        OnnxMl.TensorProto.newBuilder()
                                .setName("one")
                                .setDataType(DataType.INT64.getNumber())
                                .addInt64Data(1))
                .addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("TopK")
                                .addInput(PICKED)
                                .addInput("two")
                                .addOutput(TOP)
                                .addOutput(TOP_INDICES)
                                .addAttribute(axis1))
                .addNode(OnnxGraphs.node("Gather", SECOND, TOP, "one").addAttribute(axis1))
                .addNode(
                        OnnxGraphs.node("Gather", LOGPROBS, PICKED, FULL)
                                .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
    }
}
