package io.tetris.model.widen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl;
import io.tetris.model.BundledModels;
import io.tetris.model.DecoderSignature;
import io.tetris.model.HuggingFaceTextTokenizer;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Widening the Llama-style target (RMSNorm, rotary positions, grouped-query attention with 4 query
 * heads on 2 KV heads, SiLU-gated MLP, tied embeddings), in fp32 and in fp16 with external data.
 */
class LlamaWidenerTest {

    /**
     * The source's weights: 4 layers of q 128x128, k and v 128x64, o 128x128, gate and up 128x352,
     * down 352x128 (737,280), which grow m² times; the embedding and the head (the export writes
     * the tied matrix twice, 2 x 262,144) and 9 RMSNorm weights (1,152), which grow m times.
     */
    private static final long MATRICES = 737_280;

    private static final long VECTORS_AND_TABLES = 525_440;

    @TempDir Path dir;

    @Test
    void theWidenedFp32TargetComputesTheSameFunctionWithKvHeadsRepeatedAsQueryHeads()
            throws Exception {
        Path source = BundledModels.llama("fp32").resolve("target.onnx");
        Path out = dir.resolve("target.onnx");
        List<String> said = new ArrayList<>();

        TargetWidener.Widened w = TargetWidener.widen(source, out, 4, said::add);

        assertThat(w.sourceParameters()).isEqualTo(MATRICES + VECTORS_AND_TABLES);
        assertThat(w.parameters()).isEqualTo(16 * MATRICES + 4 * VECTORS_AND_TABLES);
        assertThat(w.heads()).isEqualTo(16);
        assertThat(w.kvHeads()).isEqualTo(8);
        assertThat(w.fp16()).isFalse();
        assertThat(said).anyMatch(line -> line.contains("4 -> 16 heads, 2 -> 8 KV heads"));
        WidenCheck.Result check = WidenCheck.compare(source, out, heldOutPrompts(3), 12);
        assertThat(check.steps()).isEqualTo(36);
        assertThat(check.greedyDifferences()).isZero();
        assertThat(check.maxLogProbDelta()).isLessThan(WidenCheck.FP32_TOLERANCE);
    }

    @Test
    void theWidenedFp16TargetKeepsFp16WeightsApartAndTheSourcesGreedyTokens() throws Exception {
        Path source = BundledModels.llama("fp16").resolve("target.onnx");
        Path out = dir.resolve("target.onnx");

        TargetWidener.Widened w = TargetWidener.widen(source, out, 2, s -> {});

        assertThat(w.parameters()).isEqualTo(4 * MATRICES + 2 * VECTORS_AND_TABLES);
        assertThat(w.fp16()).isTrue();
        // fp16 weights in an external data file, as the source keeps them: 2 bytes a parameter.
        assertThat(Files.size(dir.resolve("target.onnx.data"))).isEqualTo(2 * w.parameters());
        assertThat(Files.size(out)).isLessThan(1 << 20);
        WidenCheck.Result check = WidenCheck.compare(source, out, heldOutPrompts(3), 12);
        assertThat(check.steps()).isEqualTo(36);
        assertThat(check.greedyDifferences()).isZero();
        assertThat(check.maxLogProbDelta()).isLessThan(WidenCheck.FP16_TOLERANCE);
    }

    @Test
    void theWidenedConfigurationHasTheWidenedWidthsAndHeads() throws Exception {
        Path from = BundledModels.llama("fp32");
        TargetWidener.Widened w =
                TargetWidener.widen(
                        from.resolve("target.onnx"), dir.resolve("target.onnx"), 2, s -> {});

        List<String> changes = WidenedConfig.write(from, dir, 2, w);

        assertThat(changes)
                .contains(
                        "config_target.json hidden_size 128 -> 256",
                        "config_target.json intermediate_size 352 -> 704",
                        "config_target.json num_attention_heads 4 -> 8",
                        "config_target.json num_key_value_heads 2 -> 4");
        String json = Files.readString(dir.resolve("config_target.json"));
        assertThat(json)
                .contains("\"head_dim\": 32")
                .contains("\"rms_norm_eps\": 1e-05")
                .contains("\"hidden_size\": 256");
    }

    @Test
    void aGroupingThatDoesNotMatchTheHeadsIsRefusedByName() throws Exception {
        // The fp32 target with its first grouped-query reshape, [B, 2 KV heads, 2, T, 32], told to
        // make groups of 4: no consistent widening exists, and the message says which shape.
        OnnxMl.ModelProto model =
                DecoderSignature.parse(BundledModels.llama("fp32").resolve("target.onnx"));
        OnnxMl.GraphProto.Builder graph = model.getGraph().toBuilder();
        String group =
                graph.getNodeList().stream()
                        .filter(n -> n.getOpType().equals("Concat") && n.getInputCount() == 5)
                        .findFirst()
                        .orElseThrow()
                        .getInput(2);
        for (int i = 0; i < graph.getNodeCount(); i++) {
            OnnxMl.NodeProto node = graph.getNode(i);
            if (node.getOpType().equals("Constant") && node.getOutput(0).equals(group)) {
                OnnxMl.TensorProto four =
                        TensorData.longTensor(node.getAttribute(0).getT(), new long[] {4});
                graph.setNode(
                        i,
                        node.toBuilder()
                                .setAttribute(0, node.getAttribute(0).toBuilder().setT(four)));
            }
        }
        Path file = dir.resolve("regrouped.onnx");
        try (OutputStream out = Files.newOutputStream(file)) {
            model.toBuilder().setGraph(graph).build().writeTo(out);
        }
        assertThatThrownBy(() -> TargetWidener.widen(file, dir.resolve("x.onnx"), 2, s -> {}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot widen")
                .hasMessageContaining(
                        "query heads grouped 4 per KV head, but 4 query heads and 2 KV heads");
    }

    /** The last prompts of the held-out bench file, which the CLI's check does not use. */
    private static List<int[]> heldOutPrompts(int count) throws Exception {
        List<String> lines = Files.readAllLines(BundledModels.dir().resolve("bench_prompts.txt"));
        List<int[]> prompts = new ArrayList<>();
        try (HuggingFaceTextTokenizer tokenizer =
                HuggingFaceTextTokenizer.load(
                        BundledModels.llama("fp32").resolve("tokenizer.json"))) {
            for (String line : lines.subList(lines.size() - count, lines.size())) {
                prompts.add(tokenizer.encode(line));
            }
        }
        return prompts;
    }
}
