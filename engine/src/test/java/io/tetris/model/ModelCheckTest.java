package io.tetris.model;

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
}
