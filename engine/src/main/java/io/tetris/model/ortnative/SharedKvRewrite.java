package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import io.tetris.model.DecoderSignature;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rewrites a decoder so that each pass writes its new keys and values into the resident caches in
 * place instead of concatenating them onto a copy of the whole past: a pass then moves the new
 * positions, and the cached ones are only read, by attention. The general path ({@link
 * ResidentMask}) copies every cached column of every layer once per pass, which on this machine is
 * a third of a verification pass at a few hundred tokens, and on a GPU is HBM traffic that grows
 * with the context.
 *
 * <p>Past and present share one buffer {@code [rows][kvHeads][capacity][headDim]} per cache: the
 * runner binds the same value as the input {@code past_key_values.*} and the output {@code
 * present.*}, and ONNX Runtime's {@code ScatterND} skips its copy when its output is its input. A
 * pass writes its new columns at {@code [write_at, write_at + new)} of every row; the attention
 * runs over the whole capacity, and the mask hides every column that holds no cached token.
 *
 * <pre>
 * present.N.key   = ScatterND(past_key_values.N.key, (row, head, write_at + j), new keys)
 * mask_present    = ScatterND(mask_past, holes ++ (row, write_at + j), 0 ++ mask_new)
 * attention_mask  = mask_present                                   [batch][capacity]
 * future[j][c]    = c > write_at + j                               (replaces the causal mask)
 * </pre>
 *
 * <p>The causal mask has to change with the layout, and that part of a graph is export-specific, so
 * the rewrite recognises one shape only: the bundled pair's export ({@code make_models.py}), where
 * each cache is {@code Concat(past, new, axis 2)} feeding its {@code present} output and read by
 * nothing else, the causal mask is one {@code Greater(Unsqueeze(Range), Add(Unsqueeze(Range), past
 * length))}, and positions come from {@code position_ids}. Any other decoder gets {@code null} and
 * runs on the general path.
 */
final class SharedKvRewrite {

    /** {@code [1]} the column of the pass's first new token in every row. */
    static final String WRITE_AT = "tetris.write_at";

    /** {@code [h][2]} (row, column) pairs of the mask that are holes from this pass on. */
    static final String HOLES = ResidentMask.HOLES;

    private static final String P = "tetris.shared.";

    private SharedKvRewrite() {}

    /**
     * The decoder rewritten as described above, or null when its graph is not the shape this
     * rewrite knows.
     */
    static OnnxMl.ModelProto rewrite(OnnxMl.ModelProto model, DecoderSignature signature) {
        OnnxMl.GraphProto graph = model.getGraph();
        if (!signature.positionIds() || !int64Input(graph, DecoderSignature.ATTENTION_MASK)) {
            return null;
        }
        Map<String, List<Integer>> consumers = new HashMap<>();
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            OnnxMl.NodeProto node = graph.getNode(i);
            for (String input : node.getInputList()) {
                consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(i);
            }
            for (String output : node.getOutputList()) {
                producer.put(output, i);
            }
        }
        List<Integer> concats = new ArrayList<>();
        for (int l = 0; l < signature.layers(); l++) {
            for (String[] pair :
                    new String[][] {
                        {DecoderSignature.pastKey(l), DecoderSignature.presentKey(l)},
                        {DecoderSignature.pastValue(l), DecoderSignature.presentValue(l)}
                    }) {
                Integer at = cacheConcat(graph, consumers, producer, pair[0], pair[1]);
                if (at == null) {
                    return null;
                }
                concats.add(at);
            }
        }
        Integer future = causalMask(graph, producer);
        if (future == null) {
            return null;
        }

        OnnxMl.GraphProto.Builder out = graph.toBuilder();
        String kvIndex = P + "kv_index";
        for (int at : concats) {
            OnnxMl.NodeProto concat = graph.getNode(at);
            out.setNode(
                    at,
                    OnnxGraphs.node(
                                    "ScatterND",
                                    concat.getOutput(0),
                                    concat.getInput(0),
                                    kvIndex,
                                    concat.getInput(1))
                            .setName(concat.getName() + ".in_place"));
        }
        String futureName = graph.getNode(future).getOutput(0);
        out.removeNode(future);
        for (int i = 0; i < out.getInputCount(); i++) {
            if (out.getInput(i).getName().equals(DecoderSignature.ATTENTION_MASK)) {
                out.removeInput(i);
                break;
            }
        }
        out.addInput(OnnxGraphs.value(WRITE_AT, DataType.INT64, "1"))
                .addInput(OnnxGraphs.value(ResidentMask.PAST, DataType.INT64, "batch", "capacity"))
                .addInput(OnnxGraphs.value(ResidentMask.NEW, DataType.INT64, "batch", "new"))
                .addInput(OnnxGraphs.value(HOLES, DataType.INT64, "holes", "2"))
                .addOutput(
                        OnnxGraphs.value(
                                ResidentMask.PRESENT, DataType.INT64, "batch", "capacity"));
        scalar(out, P + "0", 0);
        scalar(out, P + "1", 1);
        scalar(out, P + "2", 2);
        OnnxGraphs.int64Vector(out, P + "axis0", 0);
        OnnxGraphs.int64Vector(out, P + "axis1", 1);
        OnnxGraphs.int64Vector(out, P + "last", -1);
        OnnxGraphs.int64Vector(out, P + "one", 1);
        OnnxGraphs.int64Vector(out, P + "b4", -1, 1, 1, 1);
        OnnxGraphs.int64Vector(out, P + "h4", 1, -1, 1, 1);
        OnnxGraphs.int64Vector(out, P + "c4", 1, 1, -1, 1);
        OnnxGraphs.int64Vector(out, P + "b3", -1, 1, 1);
        OnnxGraphs.int64Vector(out, P + "c3", 1, -1, 1);
        OnnxGraphs.int64Vector(out, P + "pairs", -1, 2);
        String past0 = DecoderSignature.pastKey(0);
        List<OnnxMl.NodeProto.Builder> nodes = new ArrayList<>();
        nodes.add(OnnxGraphs.node("Shape", P + "ids_shape", DecoderSignature.INPUT_IDS));
        nodes.add(OnnxGraphs.node("Gather", P + "batch", P + "ids_shape", P + "0"));
        nodes.add(OnnxGraphs.node("Gather", P + "new", P + "ids_shape", P + "1"));
        nodes.add(OnnxGraphs.node("Shape", P + "past_shape", past0));
        nodes.add(OnnxGraphs.node("Gather", P + "heads", P + "past_shape", P + "1"));
        nodes.add(OnnxGraphs.node("Gather", P + "capacity", P + "past_shape", P + "2"));
        nodes.add(OnnxGraphs.node("Squeeze", P + "write_at", WRITE_AT, P + "axis0"));
        nodes.add(OnnxGraphs.node("Add", P + "write_end", P + "write_at", P + "new"));
        // [new] the columns this pass writes
        nodes.add(
                OnnxGraphs.node("Range", P + "columns", P + "write_at", P + "write_end", P + "1"));
        nodes.add(OnnxGraphs.node("Range", P + "rows", P + "0", P + "batch", P + "1"));
        nodes.add(OnnxGraphs.node("Range", P + "head_ids", P + "0", P + "heads", P + "1"));
        // [new][capacity] key column c is in query j's future
        nodes.add(OnnxGraphs.node("Range", P + "key_columns", P + "0", P + "capacity", P + "1"));
        nodes.add(OnnxGraphs.node("Unsqueeze", P + "key_row", P + "key_columns", P + "axis0"));
        nodes.add(OnnxGraphs.node("Unsqueeze", P + "query_col", P + "columns", P + "axis1"));
        nodes.add(OnnxGraphs.node("Greater", futureName, P + "key_row", P + "query_col"));
        // [batch][heads][new][3] (row, head, column) of every new key and value
        nodes.add(OnnxGraphs.node("Unsqueeze", P + "batch1", P + "batch", P + "axis0"));
        nodes.add(OnnxGraphs.node("Unsqueeze", P + "heads1", P + "heads", P + "axis0"));
        nodes.add(OnnxGraphs.node("Unsqueeze", P + "new1", P + "new", P + "axis0"));
        nodes.add(
                OnnxGraphs.node(
                                "Concat",
                                P + "kv_shape",
                                P + "batch1",
                                P + "heads1",
                                P + "new1",
                                P + "one")
                        .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        nodes.add(OnnxGraphs.node("Reshape", P + "rows4", P + "rows", P + "b4"));
        nodes.add(OnnxGraphs.node("Reshape", P + "heads4", P + "head_ids", P + "h4"));
        nodes.add(OnnxGraphs.node("Reshape", P + "columns4", P + "columns", P + "c4"));
        nodes.add(OnnxGraphs.node("Expand", P + "rows4x", P + "rows4", P + "kv_shape"));
        nodes.add(OnnxGraphs.node("Expand", P + "heads4x", P + "heads4", P + "kv_shape"));
        nodes.add(OnnxGraphs.node("Expand", P + "columns4x", P + "columns4", P + "kv_shape"));
        nodes.add(
                OnnxGraphs.node("Concat", kvIndex, P + "rows4x", P + "heads4x", P + "columns4x")
                        .addAttribute(OnnxGraphs.intAttribute("axis", -1)));
        // the mask: holes cleared and new columns set, in one in-place scatter
        nodes.add(
                OnnxGraphs.node("Concat", P + "mask_shape", P + "batch1", P + "new1", P + "one")
                        .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        nodes.add(OnnxGraphs.node("Reshape", P + "rows3", P + "rows", P + "b3"));
        nodes.add(OnnxGraphs.node("Reshape", P + "columns3", P + "columns", P + "c3"));
        nodes.add(OnnxGraphs.node("Expand", P + "rows3x", P + "rows3", P + "mask_shape"));
        nodes.add(OnnxGraphs.node("Expand", P + "columns3x", P + "columns3", P + "mask_shape"));
        nodes.add(
                OnnxGraphs.node("Concat", P + "new_pairs3", P + "rows3x", P + "columns3x")
                        .addAttribute(OnnxGraphs.intAttribute("axis", -1)));
        nodes.add(OnnxGraphs.node("Reshape", P + "new_pairs", P + "new_pairs3", P + "pairs"));
        nodes.add(
                OnnxGraphs.node("Concat", P + "mask_index", HOLES, P + "new_pairs")
                        .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        nodes.add(OnnxGraphs.node("Shape", P + "holes_shape", HOLES));
        nodes.add(
                OnnxGraphs.node(
                        "Slice", P + "hole_count", P + "holes_shape", P + "axis0", P + "one"));
        nodes.add(
                OnnxGraphs.node("ConstantOfShape", P + "hole_zeros", P + "hole_count")
                        .addAttribute(
                                OnnxMl.AttributeProto.newBuilder()
                                        .setName("value")
                                        .setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                                        .setT(
                                                OnnxMl.TensorProto.newBuilder()
                                                        .setDataType(DataType.INT64.getNumber())
                                                        .addDims(1)
                                                        .addInt64Data(0))));
        nodes.add(OnnxGraphs.node("Reshape", P + "mask_new_flat", ResidentMask.NEW, P + "last"));
        nodes.add(
                OnnxGraphs.node("Concat", P + "mask_updates", P + "hole_zeros", P + "mask_new_flat")
                        .addAttribute(OnnxGraphs.intAttribute("axis", 0)));
        nodes.add(
                OnnxGraphs.node(
                        "ScatterND",
                        ResidentMask.PRESENT,
                        ResidentMask.PAST,
                        P + "mask_index",
                        P + "mask_updates"));
        nodes.add(
                OnnxGraphs.node("Identity", DecoderSignature.ATTENTION_MASK, ResidentMask.PRESENT));
        // Prepended, so the graph stays topologically sorted.
        for (int i = nodes.size() - 1; i >= 0; i--) {
            out.addNode(0, nodes.get(i).setName(nodes.get(i).getOutput(0) + ".node"));
        }
        return model.toBuilder().setGraph(out).build();
    }

    /**
     * The index of the node {@code present = Concat(past, new, axis 2)} when {@code past} is read
     * by that node only (and by {@code Shape}), else null.
     */
    private static Integer cacheConcat(
            OnnxMl.GraphProto graph,
            Map<String, List<Integer>> consumers,
            Map<String, Integer> producer,
            String past,
            String present) {
        Integer at = producer.get(present);
        if (at == null) {
            return null;
        }
        for (int reader : consumers.getOrDefault(past, List.of())) {
            // Reading the past's shape is harmless: only the causal mask used its length.
            if (reader != at && !graph.getNode(reader).getOpType().equals("Shape")) {
                return null;
            }
        }
        OnnxMl.NodeProto node = graph.getNode(at);
        if (!node.getOpType().equals("Concat")
                || !node.getDomain().isEmpty()
                || node.getInputCount() != 2
                || !node.getInput(0).equals(past)) {
            return null;
        }
        for (OnnxMl.AttributeProto a : node.getAttributeList()) {
            if (a.getName().equals("axis") && (a.getI() == 2 || a.getI() == -2)) {
                return at;
            }
        }
        return null;
    }

    /**
     * The index of the graph's only {@code Greater} node when it is {@code
     * Greater(Unsqueeze(Range), Add(Unsqueeze(Range), _))}: key index over query index plus the
     * past length. Else null.
     */
    private static Integer causalMask(OnnxMl.GraphProto graph, Map<String, Integer> producer) {
        Integer found = null;
        for (int i = 0; i < graph.getNodeCount(); i++) {
            if (graph.getNode(i).getOpType().equals("Greater")) {
                if (found != null) {
                    return null;
                }
                found = i;
            }
        }
        if (found == null) {
            return null;
        }
        OnnxMl.NodeProto greater = graph.getNode(found);
        OnnxMl.NodeProto keys = producerOf(graph, producer, greater.getInput(0));
        OnnxMl.NodeProto queries = producerOf(graph, producer, greater.getInput(1));
        if (!unsqueezedRange(graph, producer, keys)
                || queries == null
                || !queries.getOpType().equals("Add")) {
            return null;
        }
        for (String input : queries.getInputList()) {
            if (unsqueezedRange(graph, producer, producerOf(graph, producer, input))) {
                return found;
            }
        }
        return null;
    }

    private static boolean unsqueezedRange(
            OnnxMl.GraphProto graph, Map<String, Integer> producer, OnnxMl.NodeProto node) {
        if (node == null || !node.getOpType().equals("Unsqueeze")) {
            return false;
        }
        OnnxMl.NodeProto range = producerOf(graph, producer, node.getInput(0));
        return range != null && range.getOpType().equals("Range");
    }

    private static OnnxMl.NodeProto producerOf(
            OnnxMl.GraphProto graph, Map<String, Integer> producer, String value) {
        Integer at = producer.get(value);
        return at == null ? null : graph.getNode(at);
    }

    private static boolean int64Input(OnnxMl.GraphProto graph, String name) {
        for (OnnxMl.ValueInfoProto input : graph.getInputList()) {
            if (input.getName().equals(name)) {
                return input.getType().getTensorType().getElemType() == DataType.INT64.getNumber();
            }
        }
        return false;
    }

    private static void scalar(OnnxMl.GraphProto.Builder graph, String name, long value) {
        graph.addInitializer(
                OnnxMl.TensorProto.newBuilder()
                        .setName(name)
                        .setDataType(DataType.INT64.getNumber())
                        .addInt64Data(value));
    }
}
