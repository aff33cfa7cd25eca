package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl;
import io.tetris.engine.CachedModel;
import io.tetris.model.BundledModels;
import io.tetris.model.DecoderSignature;
import io.tetris.model.NextTokens;
import io.tetris.model.OnnxModelOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The weight products of a pass skip the padding ({@link PackedRows}), and a ragged pass still says
 * what a padded one says. What that saves is a benchmark's figure (docs/benchmarks.md), not a
 * test's.
 */
class PackedRowsTest {

    @Test
    void everyWeightProductIsPackedAndNothingElse() {
        for (Path file : List.of(BundledModels.draft(), BundledModels.target())) {
            OnnxMl.ModelProto model =
                    ResidentMask.rewrite(
                            ExportAdapter.adapt(
                                    DecoderSignature.parse(file), DecoderSignature.read(file)));
            OnnxMl.ModelProto packed = PackedRows.rewrite(model);
            long weightProducts = weightProducts(model.getGraph());
            // Per layer: qkv, attention output, two MLP; then the head.
            assertThat(weightProducts).isEqualTo(4L * DecoderSignature.read(file).layers() + 1);
            assertThat(weightProducts(packed.getGraph())).isEqualTo(weightProducts);
            assertThat(count(packed.getGraph(), "GatherND")).isEqualTo(weightProducts);
            // Attention's own products (query x keys, weights x values) stay padded.
            assertThat(count(packed.getGraph(), "MatMul"))
                    .isEqualTo(count(model.getGraph(), "MatMul"));
            for (OnnxMl.NodeProto node : packed.getGraph().getNodeList()) {
                if (node.getOpType().equals("MatMul") && isWeight(packed.getGraph(), node)) {
                    assertThat(node.getInput(0)).startsWith("tetris.packed.");
                }
            }
        }
    }

    @Test
    void aGraphWithoutTheResidentMaskIsLeftAlone() {
        OnnxMl.ModelProto plain = DecoderSignature.parse(BundledModels.target());
        assertThat(PackedRows.rewrite(plain)).isSameAs(plain);
    }

    @Test
    void aRaggedPassSaysWhatAPaddedOneSays() {
        OnnxModelOptions options =
                OnnxModelOptions.defaults(BundledModels.CONTEXT).withThreads(1, 1);
        io.tetris.model.DjlRuntime.onLargeStack(
                "packed-rows",
                () -> {
                    try (CachedModel packed =
                                    CachedModel.load(
                                            BundledModels.target().toString(),
                                            options.withPackRows(true));
                            CachedModel padded =
                                    CachedModel.load(
                                            BundledModels.target().toString(),
                                            options.withPackRows(false))) {
                        Random random = new Random(7);
                        int[] lengths = {5, 1, 3, 0};
                        for (int pass = 0; pass < 3; pass++) {
                            List<CachedModel.Request> requests = new ArrayList<>();
                            for (int i = 0; i < lengths.length; i++) {
                                int[] committed = bytes(random, 20 + 7 * i + pass);
                                int[] extra = bytes(random, lengths[(i + pass) % 4]);
                                requests.add(
                                        new CachedModel.Request(
                                                "s" + i,
                                                committed,
                                                extra,
                                                extra.length,
                                                extra.length + 1,
                                                false));
                            }
                            NextTokens[] a = packed.forward(requests);
                            NextTokens[] b = padded.forward(requests);
                            for (int i = 0; i < a.length; i++) {
                                assertThat(a[i].argmax()).containsExactly(b[i].argmax());
                                for (int j = 0; j < a[i].positions(); j++) {
                                    for (int v = 0; v < a[i].logProbs()[j].length; v++) {
                                        assertThat(a[i].logProbs()[j][v])
                                                .isCloseTo(b[i].logProbs()[j][v], within(1e-4f));
                                    }
                                }
                            }
                        }
                    }
                    return null;
                });
    }

    private static int[] bytes(Random random, int n) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = 32 + random.nextInt(90);
        }
        return tokens;
    }

    private static long weightProducts(OnnxMl.GraphProto graph) {
        return graph.getNodeList().stream()
                .filter(n -> n.getOpType().equals("MatMul") && isWeight(graph, n))
                .count();
    }

    private static boolean isWeight(OnnxMl.GraphProto graph, OnnxMl.NodeProto node) {
        return graph.getInitializerList().stream()
                .anyMatch(t -> t.getName().equals(node.getInput(1)) && t.getDimsCount() == 2);
    }

    private static long count(OnnxMl.GraphProto graph, String op) {
        return graph.getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
    }
}
