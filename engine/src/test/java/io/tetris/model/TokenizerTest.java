package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for the bundled tokenizer, {@link Vocabulary} and {@link IncrementalDetokenizer}. */
class TokenizerTest {

    private static final String TEXT = "Héllo, wörld!\n  tabs\tand 日本語 🎉 done";

    private static HuggingFaceTextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = HuggingFaceTextTokenizer.load(BundledModels.tokenizer());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void encodesTextAsItsUtf8BytesAndDecodesItBack() {
        int[] ids = tokenizer.encode(TEXT);
        byte[] bytes = TEXT.getBytes(StandardCharsets.UTF_8);
        assertThat(ids).hasSize(bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            assertThat(ids[i]).isEqualTo(bytes[i] & 0xFF);
        }
        assertThat(tokenizer.decode(ids)).isEqualTo(TEXT);
    }

    @Test
    void knowsItsVocabularyAndEndOfText() {
        assertThat(tokenizer.vocabSize()).isEqualTo(257);
        assertThat(tokenizer.endOfTextId()).isEqualTo(256);
        assertThat(tokenizer.encode("<|endoftext|>")).containsExactly(256);
        assertThat(tokenizer.vocabulary().id("<|endoftext|>")).isEqualTo(256);
    }

    @Test
    void detokenizesIncrementallyWithoutSplittingCharacters() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        StringBuilder streamed = new StringBuilder();
        for (int id : tokenizer.encode(TEXT)) {
            String delta = detokenizer.append(new int[] {id});
            assertThat(delta).doesNotContain("\uFFFD");
            assertThat(StandardCharsets.UTF_8.newEncoder().canEncode(delta)).isTrue();
            streamed.append(delta);
        }
        streamed.append(detokenizer.flush());
        assertThat(streamed.toString()).isEqualTo(TEXT);
    }

    @Test
    void holdsBackAPartialCharacterUntilItCompletes() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        byte[] emoji = "🎉".getBytes(StandardCharsets.UTF_8);
        assertThat(detokenizer.append(new int[] {'a'})).isEqualTo("a");
        assertThat(detokenizer.append(new int[] {emoji[0] & 0xFF, emoji[1] & 0xFF})).isEmpty();
        assertThat(detokenizer.append(new int[] {emoji[2] & 0xFF})).isEmpty();
        assertThat(detokenizer.append(new int[] {emoji[3] & 0xFF, 'b'})).isEqualTo("🎉b");
    }

    @Test
    void flushEmitsAnUnfinishedCharacterAsAReplacement() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        assertThat(detokenizer.append(new int[] {0xE6})).isEmpty();
        assertThat(detokenizer.flush()).isEqualTo("\uFFFD");
    }

    @Test
    void sameVocabularyPassesAndADifferentOneIsNamed(@TempDir Path dir) throws Exception {
        Vocabulary bundled = Vocabulary.read(BundledModels.tokenizer());
        bundled.requireSameAs(Vocabulary.read(BundledModels.tokenizer()), "draft", "target");

        String json = Files.readString(BundledModels.tokenizer(), StandardCharsets.UTF_8);
        Path other = dir.resolve("tokenizer.json");
        Files.writeString(
                other, json.replace("\"<|endoftext|>\"", "\"</s>\""), StandardCharsets.UTF_8);
        assertThatThrownBy(() -> bundled.requireSameAs(Vocabulary.read(other), "draft", "target"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'<|endoftext|>' is id 256 in the draft but missing")
                .hasMessageContaining("one shared vocabulary");
    }

    @Test
    void endOfTextIsTheEosTokenOfTheTokenizerConfig(@TempDir Path dir) throws Exception {
        Path json = besideConfig(dir, Vocabulary.TOKENIZER_CONFIG, "{\"eos_token\": \"A\"}");
        assertThat(Vocabulary.read(json).endOfTextId()).isEqualTo('A');
        // An added-token object, as older configs spell it.
        Files.writeString(
                dir.resolve(Vocabulary.TOKENIZER_CONFIG),
                "{\"eos_token\": {\"__type\": \"AddedToken\", \"content\": \"B\"}}");
        assertThat(Vocabulary.read(json).endOfTextId()).isEqualTo('B');
        try (HuggingFaceTextTokenizer configured = HuggingFaceTextTokenizer.load(json)) {
            assertThat(configured.endOfTextId()).isEqualTo('B');
        }
    }

    @Test
    void elseItIsTheFirstEosTokenIdOfTheGenerationConfig(@TempDir Path dir) throws Exception {
        Path json = besideConfig(dir, Vocabulary.GENERATION_CONFIG, "{\"eos_token_id\": 67}");
        assertThat(Vocabulary.read(json).endOfTextId()).isEqualTo(67);
        Files.writeString(
                dir.resolve(Vocabulary.GENERATION_CONFIG), "{\"eos_token_id\": [68, 256]}");
        assertThat(Vocabulary.read(json).endOfTextId()).isEqualTo(68);
        // A tokenizer config without an eos_token leaves it to the generation config.
        Files.writeString(dir.resolve(Vocabulary.TOKENIZER_CONFIG), "{\"eos_token\": null}");
        assertThat(Vocabulary.read(json).endOfTextId()).isEqualTo(68);
        // Neither says: the known spelling.
        Files.writeString(dir.resolve(Vocabulary.GENERATION_CONFIG), "{\"bos_token_id\": 1}");
        assertThat(Vocabulary.read(json).endOfTextId()).isEqualTo(256);
    }

    @Test
    void aConfiguredEndOfTextOutsideTheVocabularyFailsNamingFileAndToken(@TempDir Path dir)
            throws Exception {
        Path json =
                besideConfig(dir, Vocabulary.TOKENIZER_CONFIG, "{\"eos_token\": \"<|im_end|>\"}");
        assertThatThrownBy(() -> Vocabulary.read(json))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(dir.resolve(Vocabulary.TOKENIZER_CONFIG).toString())
                .hasMessageContaining("eos_token '<|im_end|>'")
                .hasMessageContaining("not in the vocabulary of " + json);
        assertThatThrownBy(() -> HuggingFaceTextTokenizer.load(json))
                .hasMessageContaining("eos_token '<|im_end|>'");

        Files.delete(dir.resolve(Vocabulary.TOKENIZER_CONFIG));
        Files.writeString(dir.resolve(Vocabulary.GENERATION_CONFIG), "{\"eos_token_id\": 257}");
        assertThatThrownBy(() -> Vocabulary.read(json))
                .hasMessageContaining(dir.resolve(Vocabulary.GENERATION_CONFIG).toString())
                .hasMessageContaining("eos_token_id 257, which is not an id of the vocabulary");
        Files.writeString(dir.resolve(Vocabulary.GENERATION_CONFIG), "{\"eos_token_id\": \"2\"");
        assertThatThrownBy(() -> Vocabulary.read(json))
                .hasMessageContaining(dir.resolve(Vocabulary.GENERATION_CONFIG).toString())
                .hasMessageContaining("not valid JSON");
        Files.writeString(dir.resolve(Vocabulary.GENERATION_CONFIG), "{\"eos_token_id\": 2.5}");
        assertThatThrownBy(() -> Vocabulary.read(json))
                .hasMessageContaining("eos_token_id must be a token id or a list of them");
    }

    /** The bundled tokenizer.json copied into {@code dir}, with {@code config} beside it. */
    private static Path besideConfig(Path dir, String config, String content) throws Exception {
        Path json = dir.resolve("tokenizer.json");
        Files.copy(BundledModels.tokenizer(), json);
        Files.writeString(dir.resolve(config), content);
        return json;
    }

    @Test
    void missingOrBrokenTokenizerFilesFailWithTheirPath(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> HuggingFaceTextTokenizer.load(dir.resolve("nope.json")))
                .hasMessageContaining("tokenizer file not found")
                .hasMessageContaining("nope.json");
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"model\": 3}");
        assertThatThrownBy(() -> HuggingFaceTextTokenizer.load(broken))
                .hasMessageContaining("broken.json");
    }
}
