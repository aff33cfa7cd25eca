package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Pointer;
import io.tetris.model.BundledModels;
import io.tetris.model.DecoderSignature;
import io.tetris.model.LanguageModel.Extension;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which graphs are written in place ({@link SharedKvRewrite}), and that a pass on them really
 * writes into the resident caches instead of replacing them by a concatenated copy. That the logits
 * stay those of the heap path is {@link ResidentKvBatchTest}'s differential run.
 */
class SharedKvRewriteTest {

    @Test
    void theBundledGraphsAreRewrittenAndOthersTakeTheGeneralPath() {
        for (Path file : List.of(BundledModels.draft(), BundledModels.target())) {
            OnnxMl.ModelProto model = read(file);
            DecoderSignature signature = DecoderSignature.read(file);
            OnnxMl.ModelProto shared = SharedKvRewrite.rewrite(model, signature);
            assertThat(shared).as(file.getFileName().toString()).isNotNull();
            List<String> ops = new ArrayList<>();
            shared.getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
            // One in-place scatter per cache, one for the mask; no cache is concatenated.
            assertThat(ops.stream().filter("ScatterND"::equals).count())
                    .isEqualTo(2L * signature.layers() + 1);
            for (OnnxMl.NodeProto node : shared.getGraph().getNodeList()) {
                if (node.getOpType().equals("Concat")) {
                    assertThat(node.getInputList()).noneMatch(i -> i.startsWith("past_key_values"));
                }
            }

            // A graph that also reads a past cache elsewhere would see the whole buffer: refused.
            OnnxMl.GraphProto.Builder leaky = model.getGraph().toBuilder();
            leaky.addNode(
                    OnnxGraphs.node("Identity", "leak", DecoderSignature.pastValue(0))
                            .setName("leak.node"));
            leaky.addOutput(leaky.getOutput(1).toBuilder().setName("leak"));
            assertThat(
                            SharedKvRewrite.rewrite(
                                    model.toBuilder().setGraph(leaky).build(), signature))
                    .isNull();

            // So is one whose causal mask is not the shape the rewrite knows.
            OnnxMl.GraphProto.Builder other = model.getGraph().toBuilder();
            for (int i = 0; i < other.getNodeCount(); i++) {
                if (other.getNode(i).getOpType().equals("Greater")) {
                    other.setNode(i, other.getNode(i).toBuilder().setOpType("Less"));
                }
            }
            assertThat(
                            SharedKvRewrite.rewrite(
                                    model.toBuilder().setGraph(other).build(), signature))
                    .isNull();
        }
    }

    @Test
    void passesWriteIntoTheResidentCaches() throws Exception {
        NativeKvDecoderTest.onLargeStack(
                () -> {
                    for (boolean inPlace : new boolean[] {true, false}) {
                        try (ResidentKvBatch batch = open(BundledModels.draft(), inPlace)) {
                            assertThat(batch.inPlace()).isEqualTo(inPlace);
                            List<Extension> prompts = new ArrayList<>();
                            for (int i = 0; i < 4; i++) {
                                prompts.add(new Extension("s" + i, tokens(20 + i, i), 1, true));
                            }
                            batch.next(prompts);
                            step(batch); // joins the prefilled rows: a relayout
                            for (int s = 0; s < 6; s++) {
                                long compactions = batch.traffic().compactions;
                                Pointer before = batch.cacheData();
                                step(batch);
                                if (batch.traffic().compactions == compactions) {
                                    // In place the pass wrote into the same memory; the
                                    // general path's present outputs are new tensors.
                                    assertThat(batch.cacheData().equals(before))
                                            .as("in place %s, step %d", inPlace, s)
                                            .isEqualTo(inPlace);
                                }
                            }
                            assertThat(batch.capacity() > batch.width()).isEqualTo(inPlace);

                            // A long prompt joins the row s3 leaves: in place, it is scattered
                            // into that row, and the other rows stay where they are.
                            batch.release("s3");
                            long compactions = batch.traffic().compactions;
                            Pointer before = batch.cacheData();
                            batch.next(List.of(new Extension("s4", tokens(24, 4), 1, true)));
                            assertThat(batch.traffic().joins).isEqualTo(inPlace ? 1 : 0);
                            assertThat(batch.traffic().compactions)
                                    .isEqualTo(inPlace ? compactions : compactions + 1);
                            assertThat(batch.cacheData().equals(before)).isEqualTo(inPlace);
                            assertThat(batch.cachedLength("s4")).isEqualTo(24);
                        }
                    }
                    return null;
                });
    }

    private static void step(ResidentKvBatch batch) {
        List<Extension> step = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            step.add(new Extension("s" + i, tokens(1, i), 1, true));
        }
        batch.next(step);
    }

    private static ResidentKvBatch open(Path file, boolean inPlace) {
        return ResidentKvBatch.open(
                OrtApiShim.fromOfficialRuntime(),
                file,
                DecoderSignature.parse(file),
                new OrtSession.SessionOptions(),
                DecoderSignature.read(file),
                null,
                0,
                false,
                inPlace,
                true);
    }

    private static int[] tokens(int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 32 + (7 * i + 13 * seed) % 95;
        }
        return t;
    }

    private static OnnxMl.ModelProto read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return OnnxMl.ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
