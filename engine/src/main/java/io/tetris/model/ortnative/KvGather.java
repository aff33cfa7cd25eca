package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;

/**
 * Rearranges a resident KV tensor without it leaving the memory it lives in: a small ONNX graph,
 * {@code Gather(data [rows * heads * width][headDim], index)}, whose index is built in the graph
 * from one column list per output row, run through IoBinding on the same execution provider as the
 * model. It works unchanged for CPU and device memory (where host code could not touch the bytes),
 * and only the column lists cross from the host.
 *
 * <p>Used to compact the columns of a {@link ResidentKvBatch} and to add or drop its rows.
 */
final class KvGather implements AutoCloseable {

    private static final String DATA = "data";
    private static final String DATA2 = "data2";
    private static final String JOINED = "joined";
    private static final String INDEX = "index";
    private static final String COLUMNS = "columns";
    private static final String STARTS = "starts";
    private static final String STRIDES = "strides";
    private static final String HEADS = "heads";
    private static final String OUT = "gathered";

    private final OrtApiShim ort;
    private final BoundGraph graph;
    private final Pointer binding;
    private final int sources;
    private final DataType type;

    private KvGather(OrtApiShim ort, BoundGraph graph, int sources, DataType type) {
        this.ort = ort;
        this.graph = graph;
        this.sources = sources;
        this.type = type;
        this.binding = graph.binding();
    }

    /**
     * Creates the graph's session with {@code options} (the model's, so it runs on the same
     * provider). Session creation needs a large native stack, like every ORT session here.
     */
    static KvGather create(
            OrtApiShim ort, OrtSession.SessionOptions options, int sources, DataType type) {
        return new KvGather(ort, new BoundGraph(ort, graph(sources, type), options), sources, type);
    }

    /**
     * Packs the rows of a KV batch: output row {@code r}, head {@code h}, column {@code i} is the
     * {@code headDim}-element row {@code starts[r] + h * strides[r] + columns[r][i]} of the data
     * (with two sources, the first's rows followed by the second's). The per-head offsets are added
     * in the graph, so the host sends one column list per row, not one per row and head.
     *
     * @param data {@code [sources]} tensors {@code [rows][heads][width][headDim]}, any shape whose
     *     elements are {@code rowFloats}-element rows
     * @param dataRows {@code [sources]} {@code rowFloats}-element rows in each
     * @param index host memory the caller owns: {@code columns [newRows][newWidth]}, then {@code
     *     starts [newRows]}, {@code strides [newRows]} and {@code 0 .. heads - 1}
     * @param outputInfo memory the output is allocated in (the caches' memory)
     * @return an ORT-owned {@code [newRows * heads * newWidth][rowFloats]} tensor of the caches'
     *     type
     */
    Pointer gather(
            Pointer[] data,
            long[] dataRows,
            long rowFloats,
            Memory index,
            int newRows,
            int newWidth,
            int heads,
            Pointer dataInfo,
            Pointer cpuInfo,
            Pointer outputInfo,
            Pointer allocator) {
        if (data.length != sources) {
            throw new IllegalArgumentException(
                    "this gather takes " + sources + " sources, got " + data.length);
        }
        Pointer[] views = new Pointer[sources];
        Pointer[] indices = new Pointer[4];
        try {
            for (int s = 0; s < sources; s++) {
                views[s] =
                        ort.createTensorOver(
                                dataInfo,
                                ort.tensorData(data[s]),
                                dataRows[s] * rowFloats * DecoderSignature.elementBytes(type),
                                new long[] {dataRows[s], rowFloats},
                                type.getNumber());
                ort.bindInput(binding, s == 0 ? DATA : DATA2, views[s]);
            }
            long cells = (long) newRows * newWidth;
            long[][] shapes = {{newRows, newWidth}, {newRows}, {newRows}, {heads}};
            long[] offsets = {0, cells, cells + newRows, cells + 2L * newRows};
            String[] names = {COLUMNS, STARTS, STRIDES, HEADS};
            for (int k = 0; k < 4; k++) {
                long elements = k == 0 ? cells : shapes[k][0];
                indices[k] =
                        ort.createTensorOver(
                                cpuInfo,
                                index.share(offsets[k] * Long.BYTES),
                                Math.max(1, elements) * Long.BYTES,
                                shapes[k],
                                OrtApiShim.INT64);
                ort.bindInput(binding, names[k], indices[k]);
            }
            ort.clearBoundOutputs(binding);
            ort.bindOutputToDevice(binding, OUT, outputInfo);
            graph.run();
            Pointer[] outputs = ort.boundOutputValues(binding, allocator);
            return outputs[0];
        } finally {
            ort.clearBoundInputs(binding);
            for (Pointer p : indices) {
                if (p != null) {
                    ort.releaseValue(p);
                }
            }
            for (Pointer view : views) {
                ort.releaseValue(view);
            }
        }
    }

    @Override
    public void close() {
        graph.close();
    }

    private static OnnxMl.GraphProto.Builder graph(int sources, DataType type) {
        OnnxMl.GraphProto.Builder graph =
                OnnxMl.GraphProto.newBuilder()
                        .setName("kv_gather")
                        .addInput(OnnxGraphs.value(DATA, type, "rows", "width"));
        if (sources == 2) {
            graph.addInput(OnnxGraphs.value(DATA2, type, "rows2", "width"))
                    .addNode(
                            OnnxGraphs.node("Concat", JOINED, DATA, DATA2)
                                    .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        } else if (sources != 1) {
            throw new IllegalArgumentException("1 or 2 sources, not " + sources);
        }
        graph.addInput(OnnxGraphs.value(COLUMNS, DataType.INT64, "new_rows", "new_width"))
                .addInput(OnnxGraphs.value(STARTS, DataType.INT64, "new_rows"))
                .addInput(OnnxGraphs.value(STRIDES, DataType.INT64, "new_rows"))
                .addInput(OnnxGraphs.value(HEADS, DataType.INT64, "heads"))
                .addOutput(OnnxGraphs.value(OUT, type, "n", "width"));
        for (long axis = 0; axis <= 2; axis++) {
            graph.addInitializer(
                    OnnxMl.TensorProto.newBuilder()
                            .setName("axis" + axis)
                            .setDataType(DataType.INT64.getNumber())
                            .addDims(1)
                            .addInt64Data(axis));
        }
        graph.addInitializer(
                OnnxMl.TensorProto.newBuilder()
                        .setName("flat")
                        .setDataType(DataType.INT64.getNumber())
                        .addDims(1)
                        .addInt64Data(-1));
        // index[r][h][i] = starts[r] + h * strides[r] + columns[r][i]
        graph.addNode(OnnxGraphs.node("Unsqueeze", "starts_2d", STARTS, "axis1"))
                .addNode(OnnxGraphs.node("Unsqueeze", "strides_2d", STRIDES, "axis1"))
                .addNode(OnnxGraphs.node("Unsqueeze", "heads_2d", HEADS, "axis0"))
                .addNode(OnnxGraphs.node("Mul", "head_offsets", "strides_2d", "heads_2d"))
                .addNode(OnnxGraphs.node("Add", "head_starts", "head_offsets", "starts_2d"))
                .addNode(OnnxGraphs.node("Unsqueeze", "head_starts_3d", "head_starts", "axis2"))
                .addNode(OnnxGraphs.node("Unsqueeze", "columns_3d", COLUMNS, "axis1"))
                .addNode(OnnxGraphs.node("Add", "index_3d", "head_starts_3d", "columns_3d"))
                .addNode(OnnxGraphs.node("Reshape", INDEX, "index_3d", "flat"))
                .addNode(
                        OnnxGraphs.node("Gather", OUT, sources == 2 ? JOINED : DATA, INDEX)
                                .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        return graph;
    }
}
