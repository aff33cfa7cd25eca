package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rewrites a resident-mask decoder so that its weight multiplications skip the padding: a pass
 * whose rows carry different numbers of new tokens ([pad][new T_i], left-padded to the longest)
 * multiplies the weights by the {@code N = sum T_i} real positions only, not by all {@code batch x
 * max T_i}. On a real model the weight multiplications are nearly all of a pass's arithmetic, so a
 * ragged verification (TETRIS's: some rows verify five drafts, some none) costs what its tokens
 * cost, as with variable-length attention on a GPU, instead of as if every row were the longest.
 *
 * <p>Every {@code MatMul} whose right operand is a rank-2 initializer (a weight {@code [K][M]})
 * becomes:
 *
 * <pre>
 * real   = Transpose(NonZero(Reshape(mask_new, [-1])))          [N][1]   (once per graph)
 * packed = GatherND(Reshape(A, [-1, K]), real)                    [N][K]
 * out    = ScatterND(zeros [batch x new][M], real, MatMul(packed, W))
 * Y      = Reshape(out, Shape(A)[0..-1] ++ [M])
 * </pre>
 *
 * Padding positions get zero products: everything after them stays finite (biases, norms), is
 * masked out of attention by the mask that hid them before, and their outputs are never read.
 * Attention and the element-wise operators still run over the padded layout; they are a small part
 * of a pass. Needs the {@link ResidentMask#NEW} input, so it follows {@link ResidentMask} or {@link
 * SharedKvRewrite}.
 */
final class PackedRows {

    private static final String P = "tetris.packed.";

    /** {@code [N][1]} flat indices of the real (not padding) positions of a pass. */
    private static final String REAL = P + "real";

    private PackedRows() {}

    /**
     * The decoder with its weight products packed, or the decoder unchanged when it has no {@link
     * ResidentMask#NEW} input or no weight products.
     */
    static OnnxMl.ModelProto rewrite(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto graph = model.getGraph();
        boolean hasMask = false;
        for (OnnxMl.ValueInfoProto input : graph.getInputList()) {
            hasMask |= input.getName().equals(ResidentMask.NEW);
        }
        if (!hasMask) {
            return model;
        }
        Map<String, OnnxMl.TensorProto> weights = new HashMap<>();
        for (OnnxMl.TensorProto t : graph.getInitializerList()) {
            if (t.getDimsCount() == 2) {
                weights.put(t.getName(), t);
            }
        }
        OnnxMl.GraphProto.Builder out = graph.toBuilder().clearNode();
        List<OnnxMl.NodeProto.Builder> head = new ArrayList<>();
        head.add(OnnxGraphs.node("Reshape", P + "mask_flat", ResidentMask.NEW, P + "flat"));
        head.add(OnnxGraphs.node("NonZero", P + "nonzero", P + "mask_flat"));
        head.add(
                OnnxGraphs.node("Transpose", REAL, P + "nonzero")
                        .addAttribute(OnnxGraphs.intsAttribute("perm", 1, 0)));
        head.add(OnnxGraphs.node("Shape", P + "positions", P + "mask_flat"));
        int packed = 0;
        List<OnnxMl.NodeProto> nodes = new ArrayList<>();
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            OnnxMl.TensorProto w =
                    node.getOpType().equals("MatMul") && node.getDomain().isEmpty()
                            ? weights.get(node.getInput(1))
                            : null;
            if (w == null) {
                nodes.add(node);
                continue;
            }
            String q = P + packed++ + ".";
            long k = w.getDims(0);
            long m = w.getDims(1);
            String a = node.getInput(0);
            OnnxGraphs.int64Vector(out, q + "rows_k", -1, k);
            OnnxGraphs.int64Vector(out, q + "m", m);
            nodes.add(OnnxGraphs.node("Reshape", q + "a2", a, q + "rows_k").build());
            nodes.add(OnnxGraphs.node("GatherND", q + "a_packed", q + "a2", REAL).build());
            nodes.add(
                    OnnxGraphs.node("MatMul", q + "y_packed", q + "a_packed", node.getInput(1))
                            .setName(node.getName() + ".packed")
                            .build());
            nodes.add(
                    OnnxGraphs.node("Concat", q + "zeros_shape", P + "positions", q + "m")
                            .addAttribute(OnnxGraphs.intAttribute("axis", 0))
                            .build());
            nodes.add(
                    OnnxGraphs.node("ConstantOfShape", q + "zeros", q + "zeros_shape")
                            .addAttribute(zero(w.getDataType()))
                            .build());
            nodes.add(
                    OnnxGraphs.node("ScatterND", q + "y2", q + "zeros", REAL, q + "y_packed")
                            .build());
            nodes.add(OnnxGraphs.node("Shape", q + "a_shape", a).build());
            nodes.add(
                    OnnxGraphs.node("Slice", q + "lead", q + "a_shape", P + "start", P + "last")
                            .build());
            nodes.add(
                    OnnxGraphs.node("Concat", q + "y_shape", q + "lead", q + "m")
                            .addAttribute(OnnxGraphs.intAttribute("axis", 0))
                            .build());
            nodes.add(
                    OnnxGraphs.node("Reshape", node.getOutput(0), q + "y2", q + "y_shape")
                            .setName(node.getName())
                            .build());
        }
        if (packed == 0) {
            return model;
        }
        OnnxGraphs.int64Vector(out, P + "flat", -1);
        OnnxGraphs.int64Vector(out, P + "start", 0);
        OnnxGraphs.int64Vector(out, P + "last", -1);
        for (OnnxMl.NodeProto.Builder n : head) {
            out.addNode(n.setName(n.getOutput(0) + ".node"));
        }
        for (OnnxMl.NodeProto n : nodes) {
            out.addNode(n.getName().isEmpty() ? n.toBuilder().setName(n.getOutput(0)).build() : n);
        }
        return model.toBuilder().setGraph(out).build();
    }

    private static OnnxMl.AttributeProto zero(int dataType) {
        OnnxMl.TensorProto.Builder t =
                OnnxMl.TensorProto.newBuilder().setDataType(dataType).addDims(1);
        if (dataType == DataType.FLOAT.getNumber()) {
            t.addFloatData(0);
        } else if (dataType == DataType.FLOAT16.getNumber()) {
            t.addInt32Data(0); // fp16 bit pattern of +0
        } else {
            throw new IllegalStateException("weights of type " + dataType + " cannot be packed");
        }
        return OnnxMl.AttributeProto.newBuilder()
                .setName("value")
                .setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                .setT(t)
                .build();
    }
}
