package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link ModelCheck}. */
class ModelCheckTest {

    @Test
    void theBundledPairIsCompatible() {
        assertThatCode(
                        () ->
                                ModelCheck.requireCompatible(
                                        BundledModels.draft(),
                                        BundledModels.target(),
                                        BundledModels.tokenizer(),
                                        BundledModels.tokenizer()))
                .doesNotThrowAnyException();
    }

    @Test
    void aDraftWithAnotherVocabularyIsRefused(@TempDir Path dir) throws Exception {
        Path other = dir.resolve("draft-tokenizer.json");
        String json = Files.readString(BundledModels.tokenizer(), StandardCharsets.UTF_8);
        Files.writeString(other, json.replace("\"<|endoftext|>\"", "\"<eos>\""));
        assertThatThrownBy(
                        () ->
                                ModelCheck.requireCompatible(
                                        BundledModels.draft(),
                                        BundledModels.target(),
                                        other,
                                        BundledModels.tokenizer()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("draft and target tokenizers differ");
    }

    @Test
    void missingFilesAreAllNamed(@TempDir Path dir) {
        assertThatThrownBy(
                        () ->
                                ModelCheck.requireCompatible(
                                        dir.resolve("d.onnx"),
                                        dir.resolve("t.onnx"),
                                        BundledModels.tokenizer(),
                                        BundledModels.tokenizer()))
                .hasMessageContaining("d.onnx")
                .hasMessageContaining("t.onnx");
    }

    @Test
    void aFileThatIsNotADecoderIsRefusedWithWhatIsMissing(@TempDir Path dir) throws Exception {
        Path notOnnx = dir.resolve("model.onnx");
        Files.write(notOnnx, new byte[] {8, 7});
        assertThatThrownBy(
                        () ->
                                ModelCheck.requireCompatible(
                                        notOnnx,
                                        BundledModels.target(),
                                        BundledModels.tokenizer(),
                                        BundledModels.tokenizer()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model.onnx")
                .hasMessageContaining("missing input input_ids");
    }

    @Test
    void aModelThatLoadsButCannotRunIsRefusedWithTheRuntimesErrorAndTheFile(@TempDir Path dir)
            throws Exception {
        Path pair = BrokenModels.pairWithBrokenTarget(dir.resolve("broken"));
        Path target = pair.resolve("target.onnx");
        // The signature and the files are fine: only running it shows the problem.
        assertThatCode(
                        () ->
                                ModelCheck.requireCompatible(
                                        pair.resolve("draft.onnx"),
                                        target,
                                        pair.resolve("tokenizer.json"),
                                        pair.resolve("tokenizer.json")))
                .doesNotThrowAnyException();
        try (OnnxLanguageModel model = BundledModels.load(target)) {
            assertThatThrownBy(() -> ModelCheck.requireRunnable(model, target))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(target.toString())
                    .hasMessageContaining("loads but its first forward pass fails")
                    .hasMessageContaining("broken.reshape");
        }
        try (OnnxLanguageModel model = BundledModels.load(BundledModels.target())) {
            assertThatCode(() -> ModelCheck.requireRunnable(model, BundledModels.target()))
                    .doesNotThrowAnyException();
            assertThat(model.sequences()).isZero();
        }
    }

    @Test
    void inspectingGivesAVerdictOnBothBundledPairsAndTheBrokenOne(@TempDir Path dir)
            throws Exception {
        OnnxModelOptions options =
                OnnxModelOptions.defaults(BundledModels.CONTEXT).withThreads(1, 1);
        ModelCheck.Report bytes = inspect(BundledModels.dir(), options);
        assertThat(bytes.usable()).as("%s", bytes).isTrue();
        assertThat(String.join("\n", bytes.lines()))
                .contains("4 layers, 4 KV heads of size 32, fp32 caches, vocabulary 257")
                .contains("resident, written in place")
                .contains("end of text 256");
        ModelCheck.Report llama = inspect(BundledModels.llama("fp16"), options);
        assertThat(llama.usable()).as("%s", llama).isTrue();
        assertThat(String.join("\n", llama.lines()))
                .contains("4 layers, 2 KV heads (4 query heads) of size 32, fp16 caches")
                .contains("external data")
                .contains("end of text 2")
                .contains("the model declares 512");
        ModelCheck.Report broken = inspect(BrokenModels.pairWithBrokenTarget(dir), options);
        assertThat(broken.usable()).isFalse();
        assertThat(broken.problems())
                .singleElement()
                .asString()
                .contains("target.onnx")
                .contains("first forward pass fails");
    }

    private static ModelCheck.Report inspect(Path pair, OnnxModelOptions options) {
        return ModelCheck.inspect(
                pair.resolve("draft.onnx"),
                pair.resolve("target.onnx"),
                pair.resolve("tokenizer.json"),
                pair.resolve("tokenizer.json"),
                options);
    }
}
