package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import io.tetris.model.LanguageModel.Extension;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Export variants users bring, made from the bundled draft so that the answer is known: a merged
 * decoder whose {@code use_cache_branch} picks the graph (the other branch is deliberately wrong),
 * and a decoder without {@code position_ids} that derives positions from the attention mask as
 * Optimum exports do. Each must give the original's log-probabilities through prefill, a ragged
 * batch, a rollback (which leaves holes in the mask) and further steps.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExportVariantsTest {

    @TempDir Path dir;

    private OnnxLanguageModel original;

    @BeforeAll
    void load() {
        original = BundledModels.load(BundledModels.draft());
    }

    @AfterAll
    void close() {
        original.close();
    }

    @Test
    void aMergedDecoderRunsItsBranchWithAPast() throws IOException {
        Path merged = write("merged.onnx", merged(parse(BundledModels.draft())));
        assertThat(DecoderSignature.read(merged).useCacheBranch()).isTrue();
        for (OnnxModelOptions.KvCacheMode mode :
                List.of(
                        OnnxModelOptions.KvCacheMode.NATIVE,
                        OnnxModelOptions.KvCacheMode.NATIVE_CONCAT)) {
            try (OnnxLanguageModel model = BundledModels.load(merged, mode)) {
                if (mode == OnnxModelOptions.KvCacheMode.NATIVE) {
                    // Inlined, it is a plain decoder again, which the in-place rewrite knows.
                    assertThat(model.writesCachesInPlace()).isTrue();
                }
                assertSameAsOriginal(model);
            }
        }
        assertThatThrownBy(() -> BundledModels.load(merged, OnnxModelOptions.KvCacheMode.HEAP))
                .hasMessageContaining("merged decoder")
                .hasMessageContaining("native");
    }

    @Test
    void aDecoderWithoutPositionIdsTakesThemFromTheMask() throws IOException {
        Path derived =
                write("no-position-ids.onnx", positionsFromMask(parse(BundledModels.draft())));
        assertThat(DecoderSignature.read(derived).positionIds()).isFalse();
        try (OnnxLanguageModel model = BundledModels.load(derived)) {
            // The in-place layout writes at a column that is not the last, so such a graph takes
            // the general path, where new columns are appended.
            assertThat(model.writesCachesInPlace()).isFalse();
            assertSameAsOriginal(model);
        }
    }

    @Test
    void aMergedDecoderThatUsesItsFlagElsewhereIsRefusedWithTheReason() throws IOException {
        OnnxMl.ModelProto merged = merged(parse(BundledModels.draft()));
        OnnxMl.GraphProto.Builder graph = merged.getGraph().toBuilder();
        graph.addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("Not")
                                .setName("odd")
                                .addInput(DecoderSignature.USE_CACHE_BRANCH)
                                .addOutput("odd_flag"))
                .addOutput(valueInfo("odd_flag", DataType.BOOL));
        Path odd = write("odd.onnx", merged.toBuilder().setGraph(graph).build());
        assertThatThrownBy(() -> BundledModels.load(odd))
                .hasMessageContaining("use_cache_branch")
                .hasMessageContaining("odd.onnx");
    }

    /** Runs one scenario on both models and compares every row returned. */
    private void assertSameAsOriginal(OnnxLanguageModel variant) {
        List<float[][][]> expected = scenario(original, "o");
        List<float[][][]> actual = scenario(variant, "v");
        assertThat(actual).hasSameSizeAs(expected);
        double worst = 0;
        int rows = 0;
        for (int s = 0; s < expected.size(); s++) {
            for (int b = 0; b < expected.get(s).length; b++) {
                assertThat(actual.get(s)[b].length).isEqualTo(expected.get(s)[b].length);
                for (int j = 0; j < expected.get(s)[b].length; j++) {
                    float[] e = expected.get(s)[b][j];
                    float[] a = actual.get(s)[b][j];
                    for (int v = 0; v < e.length; v++) {
                        worst = Math.max(worst, Math.abs(e[v] - a[v]));
                    }
                    rows++;
                }
            }
        }
        assertThat(rows).isGreaterThan(40);
        assertThat(worst).as("max abs log-prob difference").isLessThan(1e-4);
    }

    private static List<float[][][]> scenario(OnnxLanguageModel m, String p) {
        List<float[][][]> out = new ArrayList<>();
        out.add(
                m.extend(
                        List.of(
                                new Extension(p + "a", ByteTokens.of("The quick brown fox")),
                                new Extension(p + "b", ByteTokens.of("Hi")))));
        out.add(
                m.extend(
                        List.of(
                                new Extension(p + "a", ByteTokens.of(" jumps")),
                                new Extension(p + "b", ByteTokens.of(" there, how are")),
                                new Extension(p + "c", ByteTokens.of("A computer is")))));
        m.truncate(p + "b", 5); // "Hi th": the rest become holes
        m.truncate(p + "a", 21);
        out.add(
                m.extend(
                        List.of(
                                new Extension(p + "a", ByteTokens.of("ov")),
                                new Extension(p + "b", ByteTokens.of("ey")),
                                new Extension(p + "c", ByteTokens.of(" a")))));
        out.add(m.extend(List.of(new Extension(p + "b", ByteTokens.of(" go")))));
        for (String s : List.of("a", "b", "c")) {
            m.release(p + s);
        }
        return out;
    }

    // ----- building the variants -----

    /**
     * {@code If(use_cache_branch)}: then the original graph, else the same graph with negated
     * logits, so taking the wrong branch shows. As Optimum's merged exports do, each branch keeps
     * its own copy of the small tensors (norms, biases; the large weights stay shared in the outer
     * graph), and one output passes an outer value straight through.
     */
    static OnnxMl.ModelProto merged(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto g = model.getGraph();
        List<OnnxMl.TensorProto> small = new ArrayList<>();
        List<OnnxMl.TensorProto> shared = new ArrayList<>();
        for (OnnxMl.TensorProto t : g.getInitializerList()) {
            long elements = 1;
            for (long d : t.getDimsList()) {
                elements *= d;
            }
            (elements <= 256 ? small : shared).add(t);
        }
        assertThat(small).isNotEmpty();
        OnnxMl.GraphProto.Builder main =
                g.toBuilder()
                        .clearNode()
                        .clearInitializer()
                        .addAllInitializer(shared)
                        .addInput(valueInfo(DecoderSignature.USE_CACHE_BRANCH, DataType.BOOL, 1))
                        .addOutput(valueInfo("passed.through", DataType.INT64));
        OnnxMl.NodeProto.Builder branch =
                OnnxMl.NodeProto.newBuilder()
                        .setOpType("If")
                        .setName("optimum::if")
                        .addInput(DecoderSignature.USE_CACHE_BRANCH);
        g.getOutputList().forEach(o -> branch.addOutput(o.getName()));
        branch.addOutput("passed.through");
        branch.addAttribute(graphAttribute("then_branch", branch(g, "then", false, small)));
        branch.addAttribute(graphAttribute("else_branch", branch(g, "else", true, small)));
        main.addNode(branch);
        return model.toBuilder().setGraph(main).build();
    }

    private static OnnxMl.GraphProto branch(
            OnnxMl.GraphProto g,
            String suffix,
            boolean negate,
            List<OnnxMl.TensorProto> constants) {
        Map<String, String> renamed = new HashMap<>();
        g.getNodeList().forEach(n -> n.getOutputList().forEach(o -> renamed.put(o, o + suffix)));
        constants.forEach(t -> renamed.put(t.getName(), t.getName() + suffix));
        OnnxMl.GraphProto.Builder b = OnnxMl.GraphProto.newBuilder().setName(suffix);
        constants.forEach(t -> b.addInitializer(t.toBuilder().setName(t.getName() + suffix)));
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            OnnxMl.NodeProto.Builder copy = n.toBuilder().setName(n.getName() + suffix);
            for (int i = 0; i < copy.getInputCount(); i++) {
                copy.setInput(i, renamed.getOrDefault(copy.getInput(i), copy.getInput(i)));
            }
            for (int i = 0; i < copy.getOutputCount(); i++) {
                copy.setOutput(i, renamed.get(copy.getOutput(i)));
            }
            b.addNode(copy);
        }
        for (OnnxMl.ValueInfoProto o : g.getOutputList()) {
            String name = renamed.get(o.getName());
            if (negate && o.getName().equals(DecoderSignature.LOGITS)) {
                b.addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("Neg")
                                .addInput(name)
                                .addOutput(name + ".neg"));
                name = name + ".neg";
            }
            b.addOutput(o.toBuilder().setName(name));
        }
        // An outer value as a branch output: inlining needs an Identity for it.
        b.addOutput(valueInfo(DecoderSignature.INPUT_IDS, DataType.INT64));
        return b.build();
    }

    /** {@code position_ids = max(cumsum(attention_mask) - 1, 0)[:, -T:]}, as Optimum derives. */
    static OnnxMl.ModelProto positionsFromMask(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder();
        for (int i = 0; i < g.getInputCount(); i++) {
            if (g.getInput(i).getName().equals(DecoderSignature.POSITION_IDS)) {
                g.removeInput(i);
                break;
            }
        }
        g.addInitializer(int64("pos.axis1", 1))
                .addInitializer(int64("pos.one", 1))
                .addInitializer(int64("pos.zero", 0))
                .addInitializer(int64("pos.end", Long.MAX_VALUE));
        String[][] nodes = {
            {"CumSum", "pos.cum", DecoderSignature.ATTENTION_MASK, "pos.axis1"},
            {"Sub", "pos.all", "pos.cum", "pos.one"},
            {"Max", "pos.clamped", "pos.all", "pos.zero"},
            {"Shape", "pos.shape", DecoderSignature.INPUT_IDS},
            {"Gather", "pos.t", "pos.shape", "pos.axis1"},
            {"Neg", "pos.start", "pos.t"},
            {
                "Slice",
                DecoderSignature.POSITION_IDS,
                "pos.clamped",
                "pos.start",
                "pos.end",
                "pos.axis1"
            }
        };
        for (int i = nodes.length - 1; i >= 0; i--) {
            OnnxMl.NodeProto.Builder n =
                    OnnxMl.NodeProto.newBuilder()
                            .setOpType(nodes[i][0])
                            .setName(nodes[i][1])
                            .addOutput(nodes[i][1]);
            for (int k = 2; k < nodes[i].length; k++) {
                n.addInput(nodes[i][k]);
            }
            g.addNode(0, n);
        }
        return model.toBuilder().setGraph(g).build();
    }

    private static OnnxMl.TensorProto int64(String name, long value) {
        return OnnxMl.TensorProto.newBuilder()
                .setName(name)
                .setDataType(DataType.INT64_VALUE)
                .addDims(1)
                .addInt64Data(value)
                .build();
    }

    private static OnnxMl.AttributeProto graphAttribute(String name, OnnxMl.GraphProto graph) {
        return OnnxMl.AttributeProto.newBuilder()
                .setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.GRAPH)
                .setG(graph)
                .build();
    }

    /** A tensor value; without {@code dims}, of any shape. */
    private static OnnxMl.ValueInfoProto valueInfo(String name, DataType type, long... dims) {
        OnnxMl.TypeProto.Tensor.Builder tensor =
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber());
        if (dims.length > 0) {
            OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
            for (long d : dims) {
                shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            tensor.setShape(shape);
        }
        return OnnxMl.ValueInfoProto.newBuilder()
                .setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(tensor))
                .build();
    }

    static OnnxMl.ModelProto parse(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return OnnxMl.ModelProto.parseFrom(in);
        }
    }

    private Path write(String name, OnnxMl.ModelProto model) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, model.toByteArray());
        return file;
    }
}
