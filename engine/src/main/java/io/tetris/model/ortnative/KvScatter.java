package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * Writes rows into a resident tensor where it lies: {@code ScatterND(data, index, updates)} run
 * through IoBinding with its output bound to {@code data} itself, which ONNX Runtime's {@code
 * ScatterND} then updates without copying it (as the in-place decoder passes do, {@link
 * SharedKvRewrite}). Only the index crosses from the host; it runs on the model's own execution
 * provider, so device memory works the same.
 *
 * <p>Used to put freshly prefilled sequences into free rows of a {@link ResidentKvBatch}: the work
 * is the size of the prompts, whatever the batch's context, where a relayout would gather every
 * cached column of every row.
 */
final class KvScatter implements AutoCloseable {

    private static final String DATA = "data";
    private static final String INDEX = "index";
    private static final String UPDATES = "updates";
    private static final String OUT = "scattered";

    private final OrtApiShim ort;
    private final BoundGraph graph;
    private final Pointer binding;

    private KvScatter(OrtApiShim ort, BoundGraph graph) {
        this.ort = ort;
        this.graph = graph;
        this.binding = graph.binding();
    }

    /**
     * The graph for one element type (the caches' {@code FLOAT} or {@code FLOAT16}, {@code INT64}
     * masks), with the model's options so it runs on the same provider. Call on a large-stack
     * thread.
     */
    static KvScatter create(OrtApiShim ort, OrtSession.SessionOptions options, DataType type) {
        // Ranks differ between the caches (4) and the mask (2): the values give the shapes.
        OnnxMl.GraphProto.Builder graph =
                OnnxMl.GraphProto.newBuilder()
                        .setName("kv_scatter")
                        .addInput(OnnxGraphs.anyShape(DATA, type))
                        .addInput(OnnxGraphs.anyShape(INDEX, DataType.INT64))
                        .addInput(OnnxGraphs.anyShape(UPDATES, type))
                        .addOutput(OnnxGraphs.anyShape(OUT, type))
                        .addNode(OnnxGraphs.node("ScatterND", OUT, DATA, INDEX, UPDATES));
        return new KvScatter(ort, new BoundGraph(ort, graph, options));
    }

    /**
     * {@code data[index[i]] = updates[i]} for every index tuple, in place.
     *
     * @param data the resident tensor, updated where it lies
     * @param index host memory the caller owns: {@code indexShape} int64 tuples into {@code data}
     * @param updates a tensor shaped {@code indexShape} without its last dimension, plus the slice
     *     each tuple addresses
     */
    void scatter(
            Pointer data,
            Memory index,
            long[] indexShape,
            Pointer updates,
            Pointer cpuInfo,
            Pointer allocator) {
        long elements = 1;
        for (long d : indexShape) {
            elements *= d;
        }
        Pointer indexValue =
                ort.createTensorOver(
                        cpuInfo, index, elements * Long.BYTES, indexShape, OrtApiShim.INT64);
        try {
            ort.bindInput(binding, DATA, data);
            ort.bindInput(binding, INDEX, indexValue);
            ort.bindInput(binding, UPDATES, updates);
            ort.clearBoundOutputs(binding);
            ort.bindOutput(binding, OUT, data);
            graph.run();
            for (Pointer handle : ort.boundOutputValues(binding, allocator)) {
                ort.releaseValue(handle); // a handle onto data
            }
        } finally {
            ort.clearBoundInputs(binding);
            ort.releaseValue(indexValue);
        }
    }

    @Override
    public void close() {
        graph.close();
    }
}
