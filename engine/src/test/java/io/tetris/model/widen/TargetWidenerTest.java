package io.tetris.model.widen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import io.tetris.model.BundledModels;
import io.tetris.model.DecoderSignature;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetWidenerTest {

    @TempDir Path dir;

    @Test
    void theWidenedTargetComputesTheSameFunctionWithSquaredParameters() throws Exception {
        Path source = BundledModels.dir().resolve("target.onnx");
        Path out = dir.resolve("target.onnx");
        List<String> said = new ArrayList<>();

        TargetWidener.Widened w = TargetWidener.widen(source, out, 4, said::add);

        // Every weight matrix grows m x m, vectors and embeddings m times: about m² overall.
        assertThat((double) w.parameters() / w.sourceParameters()).isBetween(12.0, 16.0);
        assertThat(w.heads()).isEqualTo(16);
        assertThat(said).anyMatch(line -> line.contains("4 -> 16 heads"));
        // Prompts from the end of the held-out file: neither the widening nor its check used them.
        WidenCheck.Result check = WidenCheck.compare(source, out, heldOutPrompts(3), 12);
        assertThat(check.steps()).isEqualTo(36);
        assertThat(check.greedyDifferences()).isZero();
        assertThat(check.maxLogProbDelta()).isLessThan(1e-4);
    }

    @Test
    void aWrongFactorOrAForeignGraphIsRefusedByName() throws Exception {
        Path source = BundledModels.dir().resolve("target.onnx");
        assertThatThrownBy(() -> TargetWidener.widen(source, dir.resolve("x.onnx"), 1, s -> {}))
                .hasMessageContaining("at least 2");
        // The bundled target with one weight no layout explains.
        OnnxMl.ModelProto model = DecoderSignature.parse(source);
        OnnxMl.ModelProto foreign =
                model.toBuilder()
                        .setGraph(
                                model.getGraph().toBuilder()
                                        .addInitializer(
                                                OnnxMl.TensorProto.newBuilder()
                                                        .setName("mystery")
                                                        .setDataType(
                                                                OnnxMl.TensorProto.DataType
                                                                        .FLOAT_VALUE)
                                                        .addDims(2)
                                                        .addDims(3)
                                                        .setRawData(
                                                                ByteString.copyFrom(new byte[24]))))
                        .build();
        Path file = dir.resolve("foreign.onnx");
        try (OutputStream out = Files.newOutputStream(file)) {
            foreign.writeTo(out);
        }
        assertThatThrownBy(() -> TargetWidener.widen(file, dir.resolve("y.onnx"), 2, s -> {}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot widen")
                .hasMessageContaining("the role of weight 'mystery' [2, 3] is not recognised");
    }

    private static List<int[]> heldOutPrompts(int count) throws Exception {
        List<String> lines = Files.readAllLines(BundledModels.dir().resolve("bench_prompts.txt"));
        List<int[]> prompts = new ArrayList<>();
        for (String line : lines.subList(lines.size() - count, lines.size())) {
            byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[Math.min(bytes.length, 64)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = bytes[i] & 0xff;
            }
            prompts.add(ids);
        }
        return prompts;
    }
}
