package io.tetris.model.widen;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A function-preserving widened copy of a GPT-style decoder: the hidden state x becomes m copies
 * [x, ..., x], every attention head and MLP neuron is duplicated m times, and every weight that
 * reads a widened dimension is divided by m, so the logits stay the same up to float rounding. The
 * copy has about m² times the parameters: its decode pass reads enough weights to be bound by
 * memory bandwidth, as a real LLM's is, which the small bundled target is not.
 *
 * <p>Layer norms and RMS norms commute with tiling (the mean and variance, or the mean square, of
 * [x, ..., x] are those of x), so their weights are tiled; the head size is unchanged, so the
 * attention scale and rotary positions are too. Grouped-query attention keeps its grouping ({@link
 * AttentionShapes}): the KV heads are repeated as the query heads are. A gated MLP's gate and up
 * neurons are repeated alike, and the down projection reads them divided by m. m a power of two
 * keeps the division exact, in fp32 and in fp16 (whose weights stay fp16, divided in float).
 *
 * <p>Two exports are known: {@code models/make_models.py} (learned positions, LayerNorm, fused qkv
 * projection split three ways, GELU MLP, untied head) and {@code models/llama/make_llama.py}
 * (rotary positions, RMSNorm, separate q, k and v projections, grouped-query attention, SiLU-gated
 * MLP, and tied embeddings, which the export writes as a separate transposed head matrix: that copy
 * is divided by m as any reading weight). Each weight's role is read from the graph around it, and
 * anything not recognised stops the rewrite with its name.
 */
public final class TargetWidener {

    /** Metadata keys written into the widened model, read by {@code models check}. */
    public static final String FACTOR_KEY = "tetris.widened.factor";

    public static final String SOURCE_KEY = "tetris.widened.source";

    /** Past this size the weights go to an external data file (protobuf's 2 GB limit). */
    private static final long EXTERNAL_DATA_BYTES = 1L << 30;

    private final int m;
    private final Consumer<String> progress;
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Map<String, List<OnnxMl.NodeProto>> consumers = new HashMap<>();
    private final Map<String, TensorProto> widened = new HashMap<>();
    private final Map<String, TensorProto> constants = new HashMap<>();
    private final Map<String, OnnxMl.NodeProto> producers = new HashMap<>();

    private TargetWidener(int factor, Consumer<String> progress) {
        if (factor < 2) {
            throw new IllegalArgumentException(
                    "the widening factor must be at least 2, was " + factor);
        }
        this.m = factor;
        this.progress = progress;
    }

    /**
     * What was written.
     *
     * @param heads the widened model's query heads
     * @param kvHeads its KV heads (as many as the query heads without grouped-query attention)
     * @param fp16 whether its weights are fp16
     */
    public record Widened(
            Path file,
            long parameters,
            long sourceParameters,
            int heads,
            int kvHeads,
            boolean fp16) {}

    /**
     * Reads {@code source}, writes its widened copy to {@code target} (and {@code target}.data when
     * the weights are large).
     */
    public static Widened widen(Path source, Path target, int factor, Consumer<String> progress)
            throws IOException {
        TargetWidener widener = new TargetWidener(factor, progress);
        try {
            return widener.run(source, target);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(
                    "cannot widen "
                            + source
                            + ": "
                            + e.getMessage()
                            + " (widening knows the layouts of the models/make_models.py and"
                            + " models/llama/make_llama.py exports)",
                    e);
        }
    }

    private Widened run(Path source, Path target) throws IOException {
        OnnxMl.ModelProto model = io.tetris.model.DecoderSignature.parse(source);
        Path dir = source.toAbsolutePath().getParent();
        boolean sourceExternal = false;
        OnnxMl.GraphProto.Builder loaded = model.getGraph().toBuilder();
        for (int i = 0; i < loaded.getInitializerCount(); i++) {
            TensorProto t = loaded.getInitializer(i);
            sourceExternal |= t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
            loaded.setInitializer(i, TensorData.loaded(t, dir));
        }
        OnnxMl.GraphProto graph = loaded.build();
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            for (String input : node.getInputList()) {
                consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(node);
            }
            for (String output : node.getOutputList()) {
                producers.put(output, node);
            }
        }
        int[] cache = cacheHeads(graph);
        int kvHeads = cache[0];
        AttentionShapes shapes =
                new AttentionShapes(m, kvHeads, cache[1], this::constantOrNull, constants);
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            switch (node.getOpType()) {
                case "MatMul" -> matMul(node, graph);
                case "Gather" -> embedding(node);
                case "Mul", "Add" -> vector(node);
                case "Split" -> splitSizes(node);
                case "Reshape" -> shapes.reshape(node, producer(node.getInput(1)));
                default -> {}
            }
        }
        int heads = shapes.heads();
        long sourceParameters = 0;
        long parameters = 0;
        boolean fp16 = false;
        for (TensorProto t : graph.getInitializerList()) {
            if (!TensorData.isWeight(t)) {
                continue;
            }
            fp16 |= t.getDataType() == TensorProto.DataType.FLOAT16_VALUE;
            if (!widened.containsKey(t.getName())) {
                throw new IllegalStateException(
                        "the role of weight '"
                                + t.getName()
                                + "' "
                                + t.getDimsList()
                                + " is not recognised");
            }
            sourceParameters += TensorData.count(t);
            parameters += TensorData.count(widened.get(t.getName()));
        }
        progress.accept(
                "widened "
                        + widened.size()
                        + " weights: "
                        + sourceParameters
                        + " -> "
                        + parameters
                        + " parameters, "
                        + heads
                        + " -> "
                        + heads * m
                        + " heads"
                        + (kvHeads == heads
                                ? ""
                                : ", " + kvHeads + " -> " + kvHeads * m + " KV heads"));

        OnnxMl.GraphProto.Builder out = graph.toBuilder().clearInitializer().clearValueInfo();
        for (int i = 0; i < out.getNodeCount(); i++) {
            OnnxMl.NodeProto node = out.getNode(i);
            if (node.getOpType().equals("Constant") && constants.containsKey(node.getOutput(0))) {
                OnnxMl.NodeProto.Builder b = node.toBuilder().clearAttribute();
                b.addAttribute(
                        OnnxMl.AttributeProto.newBuilder()
                                .setName("value")
                                .setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                                .setT(constants.get(node.getOutput(0))));
                out.setNode(i, b);
            }
        }
        widenCacheShapes(out.getInputBuilderList());
        widenCacheShapes(out.getOutputBuilderList());
        // Weights apart as the source keeps them, and always past protobuf's limit.
        boolean external = sourceExternal || parameters * (fp16 ? 2 : 4) > EXTERNAL_DATA_BYTES;
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path data = target.resolveSibling(target.getFileName() + ".data");
        Files.deleteIfExists(data);
        if (external) {
            try (OutputStream dataOut = Files.newOutputStream(data)) {
                long offset = 0;
                for (TensorProto t : graph.getInitializerList()) {
                    TensorProto w = widened.getOrDefault(t.getName(), t);
                    byte[] bytes = w.getRawData().toByteArray();
                    dataOut.write(bytes);
                    out.addInitializer(
                            w.toBuilder()
                                    .clearRawData()
                                    .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                                    .addExternalData(
                                            entry("location", data.getFileName().toString()))
                                    .addExternalData(entry("offset", Long.toString(offset)))
                                    .addExternalData(entry("length", Long.toString(bytes.length))));
                    offset += bytes.length;
                }
            }
        } else {
            for (TensorProto t : graph.getInitializerList()) {
                out.addInitializer(widened.getOrDefault(t.getName(), t));
            }
        }
        OnnxMl.ModelProto.Builder result = model.toBuilder().setGraph(out);
        result.addMetadataProps(
                OnnxMl.StringStringEntryProto.newBuilder()
                        .setKey(FACTOR_KEY)
                        .setValue(Integer.toString(m)));
        result.addMetadataProps(
                OnnxMl.StringStringEntryProto.newBuilder()
                        .setKey(SOURCE_KEY)
                        .setValue(describeSource(source)));
        try (OutputStream o = Files.newOutputStream(target)) {
            result.build().writeTo(o);
        }
        progress.accept(
                "wrote "
                        + target
                        + (external ? " and " + data.getFileName() : "")
                        + " ("
                        + String.format(
                                "%.1f MB",
                                Files.size(target) / 1e6 + (external ? Files.size(data) / 1e6 : 0))
                        + ")");
        return new Widened(target, parameters, sourceParameters, heads * m, kvHeads * m, fp16);
    }

    /** The KV heads and head size of the cache inputs, [batch, KV heads, past, head size]. */
    private static int[] cacheHeads(OnnxMl.GraphProto graph) {
        for (OnnxMl.ValueInfoProto input : graph.getInputList()) {
            var dims = input.getType().getTensorType().getShape().getDimList();
            if (input.getName().startsWith("past_key_values.")
                    && dims.size() == 4
                    && dims.get(1).hasDimValue()
                    && dims.get(3).hasDimValue()) {
                return new int[] {(int) dims.get(1).getDimValue(), (int) dims.get(3).getDimValue()};
            }
        }
        throw new IllegalStateException(
                "no cache input past_key_values.* [batch, KV heads, past, head size]");
    }

    /**
     * The source's path from its {@code models} folder (else its folder and file name) and the
     * start of the SHA-256 of it and its external data file, to tell it again.
     */
    private static String describeSource(Path source) throws IOException {
        Path absolute = source.toAbsolutePath().normalize();
        Path from = absolute.getParent().getParent();
        for (Path p = absolute.getParent(); p != null && p.getParent() != null; p = p.getParent()) {
            if (p.getFileName().toString().equals("models")) {
                from = p.getParent();
                break;
            }
        }
        String name = from == null ? absolute.toString() : from.relativize(absolute).toString();
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            sha.update(Files.readAllBytes(source));
            Path data = source.resolveSibling(source.getFileName() + ".data");
            if (Files.isRegularFile(data)) {
                sha.update(Files.readAllBytes(data));
            }
            byte[] digest = sha.digest();
            return name.replace('\\', '/')
                    + " (sha256 "
                    + java.util.HexFormat.of().formatHex(digest).substring(0, 16)
                    + ")";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static OnnxMl.StringStringEntryProto entry(String key, String value) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /** A weight [in, out] that reads a widened dimension; its output is widened unless logits. */
    private void matMul(OnnxMl.NodeProto node, OnnxMl.GraphProto graph) {
        TensorProto w = initializers.get(node.getInput(1));
        if (w == null) {
            return; // attention's activation products
        }
        if (w.getDimsCount() != 2) {
            throw new IllegalStateException("weight " + w.getName() + " is not a matrix");
        }
        boolean logits =
                graph.getOutputList().stream().anyMatch(o -> o.getName().equals(node.getOutput(0)));
        OnnxMl.NodeProto bias = only(node.getOutput(0), "Add");
        List<Integer> segments = List.of((int) w.getDims(1));
        if (bias != null) {
            OnnxMl.NodeProto split = only(bias.getOutput(0), "Split");
            if (split != null) {
                segments = splitSegments(split);
            }
            TensorProto b = initializers.get(other(bias, node.getOutput(0)));
            if (b != null) {
                put(b, tileColumns(b, 1, (int) b.getDims(0), segments));
            }
        }
        TensorProto rows = tileRows(w);
        put(
                w,
                logits
                        ? rows
                        : tileColumns(rows, (int) rows.getDims(0), (int) w.getDims(1), segments));
    }

    /** An embedding table [vocabulary, width]: every row tiled. */
    private void embedding(OnnxMl.NodeProto node) {
        TensorProto table = initializers.get(node.getInput(0));
        if (table != null && TensorData.isWeight(table)) {
            int columns = (int) table.getDims(1);
            put(table, tileColumns(table, (int) table.getDims(0), columns, List.of(columns)));
        }
    }

    /** A layer norm's scale or shift, or a bias not taken by {@link #matMul}: tiled. */
    private void vector(OnnxMl.NodeProto node) {
        for (String input : node.getInputList()) {
            TensorProto v = initializers.get(input);
            if (v != null && v.getDimsCount() == 1 && !widened.containsKey(input)) {
                int n = (int) v.getDims(0);
                put(v, tileColumns(v, 1, n, List.of(n)));
            }
        }
    }

    private void splitSizes(OnnxMl.NodeProto split) {
        if (split.getInputCount() < 2) {
            throw new IllegalStateException("a Split without sizes is not supported");
        }
        TensorProto sizes = constant(split.getInput(1));
        long[] v = TensorData.longs(sizes);
        for (int i = 0; i < v.length; i++) {
            v[i] *= m;
        }
        constants.put(split.getInput(1), TensorData.longTensor(sizes, v));
    }

    private List<Integer> splitSegments(OnnxMl.NodeProto split) {
        List<Integer> segments = new ArrayList<>();
        for (long s : TensorData.longs(constant(split.getInput(1)))) {
            segments.add((int) s);
        }
        return segments;
    }

    private void widenCacheShapes(List<OnnxMl.ValueInfoProto.Builder> values) {
        for (OnnxMl.ValueInfoProto.Builder value : values) {
            if (!value.getName().startsWith("past_key_values.")
                    && !value.getName().startsWith("present.")) {
                continue;
            }
            var shape = value.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            if (shape.getDimCount() == 4 && shape.getDim(1).hasDimValue()) {
                shape.getDimBuilder(1).setDimValue(shape.getDim(1).getDimValue() * m);
            }
        }
    }

    private OnnxMl.NodeProto producer(String output) {
        return producers.get(output);
    }

    private TensorProto constant(String name) {
        TensorProto t = constantOrNull(name);
        if (t == null) {
            throw new IllegalStateException("'" + name + "' is not a constant");
        }
        return t;
    }

    /** The tensor of the Constant node that outputs {@code name}, or null when it is computed. */
    private TensorProto constantOrNull(String name) {
        OnnxMl.NodeProto node = producers.get(name);
        return node == null || !node.getOpType().equals("Constant")
                ? null
                : node.getAttribute(0).getT();
    }

    /** The one consumer of {@code output} if it is of {@code opType}. */
    private OnnxMl.NodeProto only(String output, String opType) {
        List<OnnxMl.NodeProto> users = consumers.getOrDefault(output, List.of());
        return users.size() == 1 && users.get(0).getOpType().equals(opType) ? users.get(0) : null;
    }

    private static String other(OnnxMl.NodeProto node, String input) {
        return node.getInput(0).equals(input) ? node.getInput(1) : node.getInput(0);
    }

    private void put(TensorProto source, TensorProto result) {
        widened.put(source.getName(), result);
    }

    /** [rows, columns] to [rows * m, columns]: the rows repeated m times, each divided by m. */
    private TensorProto tileRows(TensorProto t) {
        float[] v = TensorData.floats(t);
        int rows = (int) t.getDims(0);
        int columns = (int) t.getDims(1);
        float[] out = new float[v.length * m];
        for (int a = 0; a < m; a++) {
            for (int i = 0; i < v.length; i++) {
                out[a * v.length + i] = v[i] / m;
            }
        }
        return TensorData.like(t, new long[] {(long) rows * m, columns}, out);
    }

    /**
     * Each row's columns, in {@code segments}, become each segment repeated m times: [s0 x m, s1 x
     * m, ...]. A 1-D tensor is one row.
     */
    private TensorProto tileColumns(TensorProto t, int rows, int columns, List<Integer> segments) {
        float[] v = TensorData.floats(t);
        int wide = columns * m;
        float[] out = new float[rows * wide];
        for (int r = 0; r < rows; r++) {
            int from = 0;
            int to = 0;
            for (int s : segments) {
                for (int a = 0; a < m; a++) {
                    for (int j = 0; j < s; j++) {
                        out[r * wide + to++] = v[r * columns + from + j];
                    }
                }
                from += s;
            }
            if (from != columns) {
                throw new IllegalStateException(
                        "segments "
                                + segments
                                + " do not cover the "
                                + columns
                                + " columns of "
                                + t.getName());
            }
        }
        long[] dims = t.getDimsCount() == 1 ? new long[] {wide} : new long[] {rows, wide};
        return TensorData.like(t, dims, out);
    }
}
