package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * Builds the small helper graphs that run beside a model on its execution provider (see {@link
 * KvGather}, {@link LogitsReducer}): the ONNX protobuf pieces they share, and their sessions.
 */
final class OnnxGraphs {

    private OnnxGraphs() {}

    /** A session for {@code graph} with the model's options, so it runs on the same provider. */
    static OrtSession session(OnnxMl.GraphProto.Builder graph, OrtSession.SessionOptions options) {
        OnnxMl.ModelProto model =
                OnnxMl.ModelProto.newBuilder()
                        .setIrVersion(8)
                        .setProducerName("tetris-flink")
                        .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
                        .setGraph(graph)
                        .build();
        try {
            return OrtEnvironment.getEnvironment().createSession(model.toByteArray(), options);
        } catch (OrtException e) {
            throw new IllegalStateException(
                    "cannot create the " + graph.getName() + " graph: " + e, e);
        }
    }

    static OnnxMl.NodeProto.Builder node(String opType, String output, String... inputs) {
        OnnxMl.NodeProto.Builder node =
                OnnxMl.NodeProto.newBuilder().setOpType(opType).addOutput(output);
        for (String input : inputs) {
            node.addInput(input);
        }
        return node;
    }

    /** Adds an int64 initializer {@code [values.length]} named {@code name} to {@code graph}. */
    static void int64Vector(OnnxMl.GraphProto.Builder graph, String name, long... values) {
        OnnxMl.TensorProto.Builder tensor =
                OnnxMl.TensorProto.newBuilder()
                        .setName(name)
                        .setDataType(DataType.INT64.getNumber())
                        .addDims(values.length);
        for (long v : values) {
            tensor.addInt64Data(v);
        }
        graph.addInitializer(tensor);
    }

    static OnnxMl.AttributeProto intAttribute(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder()
                .setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT)
                .setI(value)
                .build();
    }

    static OnnxMl.AttributeProto intsAttribute(String name, long... values) {
        OnnxMl.AttributeProto.Builder attribute =
                OnnxMl.AttributeProto.newBuilder()
                        .setName(name)
                        .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            attribute.addInts(v);
        }
        return attribute.build();
    }

    /** A tensor value with symbolic dimensions. */
    static OnnxMl.ValueInfoProto value(String name, DataType type, String... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (String dim : dims) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(dim));
        }
        return value(name, tensor(type).setShape(shape));
    }

    /** A tensor value of any rank: the values bound at run time give the shapes. */
    static OnnxMl.ValueInfoProto anyShape(String name, DataType type) {
        return value(name, tensor(type));
    }

    private static OnnxMl.TypeProto.Tensor.Builder tensor(DataType type) {
        return OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber());
    }

    private static OnnxMl.ValueInfoProto value(String name, OnnxMl.TypeProto.Tensor.Builder type) {
        return OnnxMl.ValueInfoProto.newBuilder()
                .setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(type))
                .build();
    }
}
