package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtEnvironment;
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
        try {
            OrtSession session =
                    OrtEnvironment.getEnvironment()
                            .createSession(graph(sources).toByteArray(), options);
            return new KvGather(ort, session, sources);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot create the KV gather graph: " + e, e);
        }
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

    private static OnnxMl.ModelProto graph(int sources) {
        OnnxMl.GraphProto.Builder graph =
                OnnxMl.GraphProto.newBuilder()
                        .setName("kv_gather")
                        .addInput(value(DATA, DataType.FLOAT, "rows", "width"));
        if (sources == 2) {
            graph.addInput(value(DATA2, DataType.FLOAT, "rows2", "width"))
                    .addNode(
                            OnnxMl.NodeProto.newBuilder()
                                    .setOpType("Concat")
                                    .addInput(DATA)
                                    .addInput(DATA2)
                                    .addOutput(JOINED)
                                    .addAttribute(intAttribute("axis", 0)));
        } else if (sources != 1) {
            throw new IllegalArgumentException("1 or 2 sources, not " + sources);
        }
        graph.addInput(value(INDEX, DataType.INT64, "n"))
                .addOutput(value(OUT, DataType.FLOAT, "n", "width"))
                .addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("Gather")
                                .addInput(sources == 2 ? JOINED : DATA)
                                .addInput(INDEX)
                                .addOutput(OUT)
                                .addAttribute(intAttribute("axis", 0)));
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("tetris-flink")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
                .setGraph(graph)
                .build();
    }

    private static OnnxMl.AttributeProto intAttribute(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder()
                .setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT)
                .setI(value)
                .build();
    }

    private static OnnxMl.ValueInfoProto value(String name, DataType type, String... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (String dim : dims) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(dim));
        }
        return OnnxMl.ValueInfoProto.newBuilder()
                .setName(name)
                .setType(
                        OnnxMl.TypeProto.newBuilder()
                                .setTensorType(
                                        OnnxMl.TypeProto.Tensor.newBuilder()
                                                .setElemType(type.getNumber())
                                                .setShape(shape)))
                .build();
    }
}
