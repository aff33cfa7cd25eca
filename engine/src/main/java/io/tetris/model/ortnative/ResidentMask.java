package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import io.tetris.model.DecoderSignature;

/**
 * Rewrites a decoder so its attention mask stays resident like its KV caches: the graph input
 * {@code attention_mask [batch][past + new]} becomes three inputs and the mask comes back as an
 * output, so a pass sends the new columns and the few columns a rollback or a release turned into
 * holes, never a row per cached token.
 *
 * <pre>
 * attention_mask = Concat(Reshape(ScatterElements(Reshape(mask_past, [-1]), holes, 0), shape),
 *                         mask_new, axis 1)                       -> also output mask_present
 * mask_past  [batch][past]   the previous pass's mask_present, where the caches live
 * mask_new   [batch][new]    1 where a row has a new token, 0 for padding
 * holes      [h]             flat indices into mask_past that are holes from now on
 * </pre>
 *
 * Works for any Optimum-style decoder: only the name {@code attention_mask} is touched, and its
 * consumers see the same tensor as before.
 */
final class ResidentMask {

    static final String PAST = "tetris.mask_past";
    static final String NEW = "tetris.mask_new";
    static final String HOLES = "tetris.mask_holes";
    static final String PRESENT = "tetris.mask_present";

    private static final String FLAT_SHAPE = "tetris.mask_flat_shape";
    private static final String FLAT = "tetris.mask_flat";
    private static final String ZEROS = "tetris.mask_zeros";
    private static final String CLEARED = "tetris.mask_cleared";
    private static final String PAST_SHAPE = "tetris.mask_past_shape";
    private static final String PAST_CLEARED = "tetris.mask_past_cleared";

    private ResidentMask() {}

    /** The decoder with its {@code attention_mask} input replaced as described above. */
    static OnnxMl.ModelProto rewrite(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto.Builder graph = model.getGraph().toBuilder();
        int at = -1;
        for (int i = 0; i < graph.getInputCount(); i++) {
            if (graph.getInput(i).getName().equals(DecoderSignature.ATTENTION_MASK)) {
                at = i;
            }
        }
        if (at < 0) {
            throw new IllegalArgumentException(
                    "the decoder has no " + DecoderSignature.ATTENTION_MASK + " input");
        }
        graph.removeInput(at);
        // Consumers keep reading attention_mask: the value is now computed inside the graph.
        graph.addInput(OnnxGraphs.value(PAST, DataType.INT64, "batch", "past"))
                .addInput(OnnxGraphs.value(NEW, DataType.INT64, "batch", "new"))
                .addInput(OnnxGraphs.value(HOLES, DataType.INT64, "holes"))
                .addOutput(OnnxGraphs.value(PRESENT, DataType.INT64, "batch", "total"))
                .addInitializer(
                        OnnxMl.TensorProto.newBuilder()
                                .setName(FLAT_SHAPE)
                                .setDataType(DataType.INT64.getNumber())
                                .addDims(1)
                                .addInt64Data(-1));
        OnnxMl.NodeProto.Builder[] nodes = {
            OnnxGraphs.node("Reshape", FLAT, PAST, FLAT_SHAPE),
            OnnxGraphs.node("Sub", ZEROS, HOLES, HOLES),
            OnnxGraphs.node("ScatterElements", CLEARED, FLAT, HOLES, ZEROS)
                    .addAttribute(OnnxGraphs.intAttribute("axis", 0)),
            OnnxGraphs.node("Shape", PAST_SHAPE, PAST),
            // allowzero: an empty past ([batch][0]) means zero columns, not "keep that dimension".
            OnnxGraphs.node("Reshape", PAST_CLEARED, CLEARED, PAST_SHAPE)
                    .addAttribute(OnnxGraphs.intAttribute("allowzero", 1)),
            OnnxGraphs.node("Concat", DecoderSignature.ATTENTION_MASK, PAST_CLEARED, NEW)
                    .addAttribute(OnnxGraphs.intAttribute("axis", 1)),
            OnnxGraphs.node("Identity", PRESENT, DecoderSignature.ATTENTION_MASK)
        };
        // Prepended, so the graph stays topologically sorted.
        for (int i = nodes.length - 1; i >= 0; i--) {
            graph.addNode(0, nodes[i].setName(nodes[i].getOutput(0) + ".node"));
        }
        return model.toBuilder().setGraph(graph).build();
    }
}
