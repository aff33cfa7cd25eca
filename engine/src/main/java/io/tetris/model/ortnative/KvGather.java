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
    private static final String INDEX = "index";
    private static final String OUT = "gathered";

    private final OrtApiShim ort;
    private final OrtSession session;
    private final Pointer binding;

    private KvGather(OrtApiShim ort, OrtSession session) {
        this.ort = ort;
        this.session = session;
        this.binding = ort.createIoBinding(OrtApiShim.session(session));
    }

    /**
     * Creates the graph's session with {@code options} (the model's, so it runs on the same
     * provider). Session creation needs a large native stack, like every ORT session here.
     */
    static KvGather create(OrtApiShim ort, OrtSession.SessionOptions options) {
        try {
            OrtSession session =
                    OrtEnvironment.getEnvironment().createSession(graph().toByteArray(), options);
            return new KvGather(ort, session);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot create the KV gather graph: " + e, e);
        }
    }

    /**
     * {@code out[i] = data[index[i]]} over rows of {@code rowFloats} floats.
     *
     * @param data a tensor of any shape whose elements are {@code rowFloats}-float rows
     * @param dataRows rows in {@code data}
     * @param index {@code [n]} source row of each output row; host memory the caller owns
     * @param n output rows
     * @param outputInfo memory the output is allocated in (the caches' memory)
     * @return an ORT-owned {@code [n][rowFloats]} float tensor
     */
    Pointer gather(
            Pointer data,
            long dataRows,
            long rowFloats,
            Memory index,
            long n,
            Pointer dataInfo,
            Pointer cpuInfo,
            Pointer outputInfo,
            Pointer allocator) {
        Pointer dataView = null;
        Pointer indexValue = null;
        try {
            dataView =
                    ort.createTensorOver(
                            dataInfo,
                            ort.tensorData(data),
                            dataRows * rowFloats * Float.BYTES,
                            new long[] {dataRows, rowFloats},
                            OrtApiShim.FLOAT);
            indexValue =
                    ort.createTensorOver(
                            cpuInfo, index, n * Long.BYTES, new long[] {n}, OrtApiShim.INT64);
            ort.bindInput(binding, DATA, dataView);
            ort.bindInput(binding, INDEX, indexValue);
            ort.clearBoundOutputs(binding);
            ort.bindOutputToDevice(binding, OUT, outputInfo);
            ort.runWithBinding(OrtApiShim.session(session), binding);
            Pointer[] outputs = ort.boundOutputValues(binding, allocator);
            return outputs[0];
        } finally {
            ort.clearBoundInputs(binding);
            ort.releaseValue(indexValue);
            ort.releaseValue(dataView);
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

    private static OnnxMl.ModelProto graph() {
        OnnxMl.GraphProto graph =
                OnnxMl.GraphProto.newBuilder()
                        .setName("kv_gather")
                        .addInput(value(DATA, DataType.FLOAT, "rows", "width"))
                        .addInput(value(INDEX, DataType.INT64, "n"))
                        .addOutput(value(OUT, DataType.FLOAT, "n", "width"))
                        .addNode(
                                OnnxMl.NodeProto.newBuilder()
                                        .setOpType("Gather")
                                        .addInput(DATA)
                                        .addInput(INDEX)
                                        .addOutput(OUT)
                                        .addAttribute(
                                                OnnxMl.AttributeProto.newBuilder()
                                                        .setName("axis")
                                                        .setType(
                                                                OnnxMl.AttributeProto.AttributeType
                                                                        .INT)
                                                        .setI(0)))
                        .build();
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("tetris-flink")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
                .setGraph(graph)
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
