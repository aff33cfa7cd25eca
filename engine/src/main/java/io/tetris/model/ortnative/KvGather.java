package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * Rearranges a resident KV tensor without it leaving the memory it lives in: a one-node ONNX graph,
 * {@code Gather(data [rows][width], index [n]) -> [n][width]}, run through IoBinding on the same
 * execution provider as the model. It works unchanged for CPU and device memory (where host code
 * could not touch the bytes), and only the index crosses from the host.
 *
 * <p>Used to compact the columns of a {@link ResidentKvBatch} and to add or drop its rows.
 */
final class KvGather implements AutoCloseable {

    private static final String DATA = "data";
    private static final String DATA2 = "data2";
    private static final String JOINED = "joined";
    private static final String INDEX = "index";
    private static final String OUT = "gathered";

    private final OrtApiShim ort;
    private final OrtSession session;
    private final Pointer binding;
    private final int sources;

    private KvGather(OrtApiShim ort, OrtSession session, int sources) {
        this.ort = ort;
        this.session = session;
        this.sources = sources;
        this.binding = ort.createIoBinding(OrtApiShim.session(session));
    }

    /**
     * Creates the graph's session with {@code options} (the model's, so it runs on the same
     * provider). Session creation needs a large native stack, like every ORT session here.
     */
    static KvGather create(OrtApiShim ort, OrtSession.SessionOptions options, int sources) {
        return new KvGather(ort, OnnxGraphs.session(graph(sources), options), sources);
    }

    /**
     * {@code out[i] = data[index[i]]} over rows of {@code rowFloats} floats; with two sources,
     * {@code data} is the first's rows followed by the second's.
     *
     * @param data {@code [sources]} tensors of any shape whose elements are {@code rowFloats}-float
     *     rows
     * @param dataRows {@code [sources]} rows in each
     * @param index {@code [n]} source row of each output row; host memory the caller owns
     * @param n output rows
     * @param outputInfo memory the output is allocated in (the caches' memory)
     * @return an ORT-owned {@code [n][rowFloats]} float tensor
     */
    Pointer gather(
            Pointer[] data,
            long[] dataRows,
            long rowFloats,
            Memory index,
            long n,
            Pointer dataInfo,
            Pointer cpuInfo,
            Pointer outputInfo,
            Pointer allocator) {
        if (data.length != sources) {
            throw new IllegalArgumentException(
                    "this gather takes " + sources + " sources, got " + data.length);
        }
        Pointer[] views = new Pointer[sources];
        Pointer indexValue = null;
        try {
            for (int s = 0; s < sources; s++) {
                views[s] =
                        ort.createTensorOver(
                                dataInfo,
                                ort.tensorData(data[s]),
                                dataRows[s] * rowFloats * Float.BYTES,
                                new long[] {dataRows[s], rowFloats},
                                OrtApiShim.FLOAT);
                ort.bindInput(binding, s == 0 ? DATA : DATA2, views[s]);
            }
            indexValue =
                    ort.createTensorOver(
                            cpuInfo, index, n * Long.BYTES, new long[] {n}, OrtApiShim.INT64);
            ort.bindInput(binding, INDEX, indexValue);
            ort.clearBoundOutputs(binding);
            ort.bindOutputToDevice(binding, OUT, outputInfo);
            ort.runWithBinding(OrtApiShim.session(session), binding);
            Pointer[] outputs = ort.boundOutputValues(binding, allocator);
            return outputs[0];
        } finally {
            ort.clearBoundInputs(binding);
            ort.releaseValue(indexValue);
            for (Pointer view : views) {
                ort.releaseValue(view);
            }
        }
    }

    @Override
    public void close() {
        ort.releaseIoBinding(binding);
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("cannot close the KV gather session", e);
        }
    }

    private static OnnxMl.GraphProto.Builder graph(int sources) {
        OnnxMl.GraphProto.Builder graph =
                OnnxMl.GraphProto.newBuilder()
                        .setName("kv_gather")
                        .addInput(OnnxGraphs.value(DATA, DataType.FLOAT, "rows", "width"));
        if (sources == 2) {
            graph.addInput(OnnxGraphs.value(DATA2, DataType.FLOAT, "rows2", "width"))
                    .addNode(
                            OnnxGraphs.node("Concat", JOINED, DATA, DATA2)
                                    .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        } else if (sources != 1) {
            throw new IllegalArgumentException("1 or 2 sources, not " + sources);
        }
        return graph.addInput(OnnxGraphs.value(INDEX, DataType.INT64, "n"))
                .addOutput(OnnxGraphs.value(OUT, DataType.FLOAT, "n", "width"))
                .addNode(
                        OnnxGraphs.node("Gather", OUT, sources == 2 ? JOINED : DATA, INDEX)
                                .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
    }
}
