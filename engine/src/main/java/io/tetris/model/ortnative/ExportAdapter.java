package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import io.tetris.model.DecoderSignature;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Brings export variants users bring to the one shape the runner feeds, before any other rewrite:
 *
 * <ul>
 *   <li>A merged decoder (older Optimum exports: {@code use_cache_branch} selects, through an
 *       {@code If}, a graph with a past or one without) becomes its branch with a past: the runner
 *       always passes a past, empty ({@code [batch][heads][0][headDim]}) on a first pass, so the
 *       other branch is never wanted. Inlining it, rather than feeding {@code true} on every pass,
 *       leaves a plain decoder that the in-place rewrite can recognise and no control flow to run.
 *   <li>fp16 logits are cast to fp32 in the graph, where they are computed: the logits reducer and
 *       the rows sampled on the host read fp32, and the cast is one element-wise pass over a tensor
 *       the size of one layer's activations. The caches keep their own type.
 * </ul>
 */
final class ExportAdapter {

    static final String LOGITS_FP16 = "tetris.logits_fp16";

    private ExportAdapter() {}

    /** {@code model} as described above; unchanged when it is neither merged nor fp16. */
    static OnnxMl.ModelProto adapt(OnnxMl.ModelProto model, DecoderSignature signature) {
        boolean fp16Logits = signature.logitsType() == DataType.FLOAT16;
        if (!signature.useCacheBranch() && !fp16Logits) {
            return model; // a copy of a large graph for nothing
        }
        OnnxMl.GraphProto.Builder graph = model.getGraph().toBuilder();
        if (signature.useCacheBranch()) {
            inlineCacheBranch(graph);
        }
        if (fp16Logits) {
            castLogits(graph);
        }
        return model.toBuilder().setGraph(graph).build();
    }

    private static void inlineCacheBranch(OnnxMl.GraphProto.Builder graph) {
        String flag = DecoderSignature.USE_CACHE_BRANCH;
        int at = -1;
        for (int i = 0; i < graph.getNodeCount(); i++) {
            OnnxMl.NodeProto node = graph.getNode(i);
            if (!node.getInputList().contains(flag)) {
                continue;
            }
            if (!node.getOpType().equals("If") || !node.getInput(0).equals(flag) || at >= 0) {
                throw new IllegalArgumentException(
                        "the merged decoder uses "
                                + flag
                                + " other than as the condition of one If node (node "
                                + node.getName()
                                + ", "
                                + node.getOpType()
                                + "); export the decoder with past on its own instead");
            }
            at = i;
        }
        if (at < 0) {
            throw new IllegalArgumentException(
                    "the merged decoder has a " + flag + " input that no If node reads");
        }
        OnnxMl.NodeProto branch = graph.getNode(at);
        OnnxMl.GraphProto withPast = null;
        for (OnnxMl.AttributeProto attribute : branch.getAttributeList()) {
            if (attribute.getName().equals("then_branch")) {
                withPast = attribute.getG();
            }
        }
        if (withPast == null || withPast.getOutputCount() != branch.getOutputCount()) {
            throw new IllegalArgumentException(
                    "the If node reading " + flag + " has no then_branch matching its outputs");
        }
        // The branch's outputs take the If's names where a branch node makes them, so that the
        // caches still come straight out of their Concat (as the in-place rewrite looks for).
        Map<String, String> names = new HashMap<>();
        Set<String> made = new HashSet<>();
        withPast.getNodeList().forEach(n -> made.addAll(n.getOutputList()));
        List<OnnxMl.NodeProto> identities = new ArrayList<>();
        for (int o = 0; o < branch.getOutputCount(); o++) {
            String inner = withPast.getOutput(o).getName();
            if (made.contains(inner) && !names.containsKey(inner)) {
                names.put(inner, branch.getOutput(o));
            } else {
                identities.add(
                        OnnxGraphs.node("Identity", branch.getOutput(o), inner)
                                .setName("tetris.inlined." + branch.getOutput(o))
                                .build());
            }
        }
        List<OnnxMl.NodeProto> inlined = new ArrayList<>();
        for (OnnxMl.NodeProto node : withPast.getNodeList()) {
            OnnxMl.NodeProto.Builder copy = node.toBuilder();
            for (int i = 0; i < copy.getInputCount(); i++) {
                copy.setInput(i, names.getOrDefault(copy.getInput(i), copy.getInput(i)));
            }
            for (int i = 0; i < copy.getOutputCount(); i++) {
                copy.setOutput(i, names.getOrDefault(copy.getOutput(i), copy.getOutput(i)));
            }
            inlined.add(copy.build());
        }
        inlined.addAll(identities);
        graph.removeNode(at);
        for (int i = inlined.size() - 1; i >= 0; i--) {
            graph.addNode(at, inlined.get(i)); // where the If was: the graph stays sorted
        }
        graph.addAllInitializer(withPast.getInitializerList());
        for (int i = 0; i < graph.getInputCount(); i++) {
            if (graph.getInput(i).getName().equals(flag)) {
                graph.removeInput(i);
                break;
            }
        }
    }

    private static void castLogits(OnnxMl.GraphProto.Builder graph) {
        String logits = DecoderSignature.LOGITS;
        for (OnnxMl.NodeProto.Builder node : graph.getNodeBuilderList()) {
            for (int i = 0; i < node.getInputCount(); i++) {
                if (node.getInput(i).equals(logits)) {
                    node.setInput(i, LOGITS_FP16);
                }
            }
            for (int i = 0; i < node.getOutputCount(); i++) {
                if (node.getOutput(i).equals(logits)) {
                    node.setOutput(i, LOGITS_FP16);
                }
            }
        }
        graph.addNode(
                OnnxGraphs.node("Cast", logits, LOGITS_FP16)
                        .setName("tetris.logits_to_fp32")
                        .addAttribute(OnnxGraphs.intAttribute("to", DataType.FLOAT_VALUE)));
        for (OnnxMl.ValueInfoProto.Builder output : graph.getOutputBuilderList()) {
            if (output.getName().equals(logits)) {
                output.getTypeBuilder().getTensorTypeBuilder().setElemType(DataType.FLOAT_VALUE);
            }
        }
    }
}
