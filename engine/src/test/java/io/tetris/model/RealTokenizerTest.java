package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real tokenizers through {@link HuggingFaceTextTokenizer}, {@link Vocabulary} and {@link
 * IncrementalDetokenizer}: the bundled byte-level one, the Llama-2-style sentencepiece BPE with
 * byte fallback of {@code models/llama}, and the released Qwen3 and Llama 3 tokenizers (test
 * resources under {@code tokenizers/}, gzipped; see the README there).
 */
class RealTokenizerTest {

    private static final String BYTES = "bytes";
    private static final String LLAMA2_STYLE = "llama2-style";
    private static final String QWEN3 = "qwen3";
    private static final String LLAMA3 = "llama3";

    /** Multilingual text, emoji and code; all in NFC, so that Qwen3's normalizer keeps them. */
    private static final List<String> TEXTS =
            List.of(
                    "The quick brown fox jumps over the lazy dog. It's 3.14159, isn't it?",
                    "Grüße aus Köln: Äpfel, Öl und Übermaß – schön, oder?",
                    "Où est la bibliothèque ? À côté de l'église ; déjà vu, garçon naïf.",
                    "你好，世界！今天天气很好，我们去公园散步吧。龘靐齉爩",
                    "日本語のテキスト：ひらがな、カタカナ、漢字。東京は晴れです。",
                    "안녕하세요, 세계! 한국어 문장입니다. 똠방각하 뷁",
                    "مرحبا بالعالم! هذه جملة عربية.",
                    "नमस्ते दुनिया! यह हिंदी में एक वाक्य है।",
                    "Привет, мир! Съешь же ещё этих мягких французских булок.",
                    "Emoji 🎉🚀 family 👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵🏳️‍🌈 skin 👍🏽 heart ❤️ rare 🦩🪿🫠 𠜎𠜱",
                    "tabs\tand\nnewlines\n\n  two spaces,   three,\r\n trailing  \n\t",
                    "def f(x):\n    return {\"a\": [1, 2, 3]}  # comment\n\n"
                            + "if (x != y && z <= 10) { y++; } // done",
                    "Hello , world ! Don 't stop . ( spaced ) ?",
                    " starts with a space",
                    "  starts with two",
                    "\nstarts with a newline",
                    "ends with a space ",
                    "mixed: Straße 東京 🎉 Москва 서울 القاهرة दिल्ली");

    @TempDir static Path unpacked;

    private static final Map<String, HuggingFaceTextTokenizer> TOKENIZERS = new LinkedHashMap<>();

    @BeforeAll
    static void load() throws IOException {
        TOKENIZERS.put(BYTES, HuggingFaceTextTokenizer.load(BundledModels.tokenizer()));
        TOKENIZERS.put(
                LLAMA2_STYLE,
                HuggingFaceTextTokenizer.load(
                        BundledModels.dir().resolve("llama").resolve("tokenizer.json")));
        TOKENIZERS.put(QWEN3, HuggingFaceTextTokenizer.load(unpack(QWEN3)));
        TOKENIZERS.put(LLAMA3, HuggingFaceTextTokenizer.load(unpack(LLAMA3)));
    }

    @AfterAll
    static void close() {
        TOKENIZERS.values().forEach(HuggingFaceTextTokenizer::close);
    }

    /** Unpacks a resource tokenizer (json gzipped, config as is) to its own folder. */
    private static Path unpack(String name) throws IOException {
        Path dir = Files.createDirectories(unpacked.resolve(name));
        Path json = dir.resolve("tokenizer.json");
        try (InputStream in = new GZIPInputStream(resource(name + "/tokenizer.json.gz"))) {
            Files.copy(in, json);
        }
        try (InputStream in = resource(name + "/" + Vocabulary.TOKENIZER_CONFIG)) {
            Files.copy(in, dir.resolve(Vocabulary.TOKENIZER_CONFIG));
        }
        return json;
    }

    private static InputStream resource(String path) {
        InputStream in = RealTokenizerTest.class.getResourceAsStream("/tokenizers/" + path);
        if (in == null) {
            throw new IllegalStateException("test resource tokenizers/" + path + " is missing");
        }
        return in;
    }

    private static HuggingFaceTextTokenizer tokenizer(String name) {
        return TOKENIZERS.get(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {BYTES, LLAMA2_STYLE, QWEN3, LLAMA3})
    void decodingTheEncodingGivesTheTextBack(String name) {
        HuggingFaceTextTokenizer tokenizer = tokenizer(name);
        for (String text : TEXTS) {
            int[] ids = tokenizer.encode(text);
            assertThat(ids).as("%s encodes %s", name, text).isNotEmpty();
            assertThat(tokenizer.decode(ids)).as("%s round trip", name).isEqualTo(text);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {BYTES, LLAMA2_STYLE, QWEN3, LLAMA3})
    void streamsOneTokenAtATimeAsTheFullDecodeDoes(String name) {
        HuggingFaceTextTokenizer tokenizer = tokenizer(name);
        int partial = 0;
        for (String text : texts()) {
            int[] ids = tokenizer.encode(text);
            partial += stream(name, tokenizer, ids, null);
        }
        // Some prefixes must end inside a character (a byte-fallback or byte-level piece),
        // or the hold-back was never exercised.
        assertThat(partial).as("%s: prefixes that end inside a character", name).isPositive();
    }

    @ParameterizedTest
    @ValueSource(strings = {BYTES, LLAMA2_STYLE, QWEN3, LLAMA3})
    void streamsChunksOfRandomSizeAsTheFullDecodeDoes(String name) {
        HuggingFaceTextTokenizer tokenizer = tokenizer(name);
        Random random = new Random(14);
        for (String text : texts()) {
            stream(name, tokenizer, tokenizer.encode(text), random);
        }
        // All texts as one long stream: the offsets move across every kind of boundary.
        stream(name, tokenizer, tokenizer.encode(String.join("", texts())), null);
    }

    @Test
    void theLlama2StyleTokenizerEncodesAsTheSentencepieceModelItWasDerivedFrom()
            throws IOException {
        // Ids from sentencepiece itself (make_llama.py tokenizer-reference): tokenizer.json's
        // merges and normaliser must reproduce them, or the models would see other tokens than
        // they were trained on.
        com.google.gson.JsonArray reference;
        try (java.io.Reader reader =
                Files.newBufferedReader(
                        BundledModels.dir().resolve("llama").resolve("tokenizer_reference.json"),
                        java.nio.charset.StandardCharsets.UTF_8)) {
            reference = com.google.gson.JsonParser.parseReader(reader).getAsJsonArray();
        }
        HuggingFaceTextTokenizer tokenizer = tokenizer(LLAMA2_STYLE);
        assertThat(reference.size()).isGreaterThan(100);
        for (com.google.gson.JsonElement e : reference) {
            String text = e.getAsJsonObject().get("text").getAsString();
            com.google.gson.JsonArray ids = e.getAsJsonObject().getAsJsonArray("ids");
            int[] expected = new int[ids.size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = ids.get(i).getAsInt();
            }
            assertThat(tokenizer.encode(text)).as("%s", text).containsExactly(expected);
            assertThat(tokenizer.decode(expected)).isEqualTo(text);
        }
    }

    /**
     * What the job streams ({@link io.tetris.engine.SequenceTracker}, which decodes a completion
     * after the end of its prompt): for prompts cut from each text at whole characters, the deltas
     * of the completion's tokens, fed one at a time, add up to the completion's own text, which is
     * the full text less the prompt's, with no U+FFFD, also where the prompt ends in byte pieces
     * and the completion starts with them, and where the completion starts with a space a decoder
     * strips.
     */
    @ParameterizedTest
    @ValueSource(strings = {BYTES, LLAMA2_STYLE, QWEN3, LLAMA3})
    void streamedCompletionsAreTheTextAfterThePrompt(String name) {
        HuggingFaceTextTokenizer tokenizer = tokenizer(name);
        io.tetris.engine.SequenceTracker tracker =
                new io.tetris.engine.SequenceTracker(tokenizer, 1 << 20);
        int completions = 0;
        for (String text : texts()) {
            int[] ids = tokenizer.encode(text);
            String whole = tokenizer.decode(ids);
            for (int cut = 1; cut < ids.length; cut++) {
                String promptText = tokenizer.decode(Arrays.copyOf(ids, cut));
                if (promptText.indexOf('\uFFFD') >= 0 || !whole.startsWith(promptText)) {
                    continue; // real prompts are whole text
                }
                io.tetris.engine.SequenceState s = new io.tetris.engine.SequenceState();
                s.requestId = name + "-" + cut;
                s.promptTokens = Arrays.copyOf(ids, cut);
                s.maxNewTokens = ids.length;
                StringBuilder streamed = new StringBuilder();
                for (int i = cut; i < ids.length; i++) {
                    tracker.apply(s, new int[] {ids[i]}, 0).forEach(p -> streamed.append(p.text()));
                }
                String expected = whole.substring(promptText.length());
                String finalText = tracker.finalText(s, io.tetris.schemas.FinishReason.LENGTH);
                assertThat(finalText)
                        .as("%s: %s | %s", name, promptText, expected)
                        .isEqualTo(expected);
                assertThat(expected).startsWith(streamed.toString());
                completions++;
            }
        }
        assertThat(completions).isGreaterThan(100);
    }

    /** The fixed texts and, from a seeded generator, text mixing scripts character by character. */
    private static List<String> texts() {
        List<String> texts = new ArrayList<>(TEXTS);
        int[][] ranges = {
            {'a', 'z'},
            {' ', ' '},
            {0xE0, 0xFF},
            {0x4E00, 0x9FFF},
            {0xAC00, 0xD7A3},
            {0x0400, 0x044F},
            {0x1F300, 0x1F5FF},
            {0x1F900, 0x1F9FF},
            {0x20000, 0x2A6DF}
        };
        Random random = new Random(2024);
        for (int t = 0; t < 8; t++) {
            StringBuilder text = new StringBuilder();
            for (int c = 0; c < 40; c++) {
                int[] range = ranges[random.nextInt(ranges.length)];
                text.appendCodePoint(range[0] + random.nextInt(range[1] - range[0] + 1));
            }
            texts.add(text.toString());
        }
        return texts;
    }

    /**
     * Feeds {@code ids} to a detokenizer one at a time (no {@code random}) or in chunks of random
     * sizes 1 to 6 and checks after each append that the text so far is exactly the full decode of
     * the ids up to the last one at which that decode ends in a whole character (does not end in
     * U+FFFD); after the flush it is the full decode of all. Returns how many prefixes ended in
     * U+FFFD.
     *
     * <p>For the byte-level decoders the text so far is also a prefix of the decode of all the ids
     * so far, complete or not. Not for the byte-fallback decoder: while a run of byte pieces ends
     * inside a character, it decodes every byte of the run to U+FFFD, the whole characters before
     * included ("Grü" + {@code <0xC3>} decodes to "Gr\uFFFD\uFFFD\uFFFD").
     */
    private static int stream(String name, TextTokenizer tokenizer, int[] ids, Random random) {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        String[] decoded = new String[ids.length + 1];
        int[] whole = new int[ids.length + 1]; // the last prefix length <= i that ends whole
        int partial = 0;
        for (int i = 0; i <= ids.length; i++) {
            decoded[i] = tokenizer.decode(Arrays.copyOf(ids, i));
            boolean cut = decoded[i].endsWith("\uFFFD");
            partial += cut ? 1 : 0;
            whole[i] = cut ? whole[i - 1] : i;
        }
        StringBuilder streamed = new StringBuilder();
        int at = 0;
        while (at < ids.length) {
            int n = Math.min(ids.length - at, random == null ? 1 : 1 + random.nextInt(6));
            String delta = detokenizer.append(Arrays.copyOfRange(ids, at, at + n));
            at += n;
            assertThat(delta).doesNotContain("\uFFFD");
            streamed.append(delta);
            String context = name + " after " + at + " of " + Arrays.toString(ids);
            assertThat(streamed.toString()).as(context).isEqualTo(decoded[whole[at]]);
            if (!name.equals(LLAMA2_STYLE)) {
                assertThat(decoded[at]).as(context).startsWith(streamed.toString());
            }
        }
        streamed.append(detokenizer.flush());
        assertThat(streamed.toString()).as(name).isEqualTo(decoded[ids.length]);
        return partial;
    }

    @Test
    void theLlama2StyleTokenizerKeepsLeadingSpacesButASliceLosesItsFirst() {
        // The normalizer prepends one U+2581 to the text and the decoder strips one leading space
        // from what it decodes, so leading spaces, newlines and tabs all come back exactly ...
        HuggingFaceTextTokenizer llama = tokenizer(LLAMA2_STYLE);
        for (String text : List.of(" x", "  x", "   ", "\tx", "\n x", "x ", "")) {
            assertThat(llama.decode(llama.encode(text))).as("'%s'", text).isEqualTo(text);
        }
        // ... but the strip applies to any slice decoded alone: "▁world" alone is "world". So
        // IncrementalDetokenizer decodes from the previous emitted token and keeps the difference.
        int[] ids = llama.encode("hello world");
        assertThat(llama.decode(ids)).isEqualTo("hello world");
        int[] world = Arrays.copyOfRange(ids, ids.length - 1, ids.length);
        assertThat(llama.vocabulary().id("\u2581world")).isEqualTo(world[0]);
        assertThat(llama.decode(world)).isEqualTo("world");
    }

    @Test
    void theLlama2StyleTokenizerTurnsALiteralMetaspaceIntoASpace() {
        // Its normalizer spells every space as U+2581 and its decoder spells every U+2581 as a
        // space, so a U+2581 in the text comes back as a space (as with Llama 2 itself).
        HuggingFaceTextTokenizer llama = tokenizer(LLAMA2_STYLE);
        assertThat(llama.decode(llama.encode("a\u2581b"))).isEqualTo("a b");
        for (String name : List.of(BYTES, QWEN3, LLAMA3)) {
            HuggingFaceTextTokenizer other = tokenizer(name);
            assertThat(other.decode(other.encode("a\u2581b"))).as(name).isEqualTo("a\u2581b");
        }
    }

    @Test
    void qwen3ComposesDecomposedCharacters() {
        // Qwen3's normalizer is NFC: "e" + COMBINING ACUTE comes back as "é"; the others keep it.
        String decomposed = "cafe\u0301";
        HuggingFaceTextTokenizer qwen = tokenizer(QWEN3);
        assertThat(qwen.decode(qwen.encode(decomposed))).isEqualTo("caf\u00e9");
        for (String name : List.of(BYTES, LLAMA2_STYLE, LLAMA3)) {
            HuggingFaceTextTokenizer other = tokenizer(name);
            assertThat(other.decode(other.encode(decomposed))).as(name).isEqualTo(decomposed);
        }
    }

    @Test
    void theLlama2StyleTokenizerFallsBackToBytesForRareCharacters() {
        HuggingFaceTextTokenizer llama = tokenizer(LLAMA2_STYLE);
        Vocabulary vocabulary = llama.vocabulary();
        int[] ids = llama.encode("🎉");
        // "▁" then the four UTF-8 bytes of U+1F389 as <0xF0> <0x9F> <0x8E> <0x89>.
        assertThat(ids)
                .endsWith(
                        vocabulary.id("<0xF0>"),
                        vocabulary.id("<0x9F>"),
                        vocabulary.id("<0x8E>"),
                        vocabulary.id("<0x89>"));
        assertThat(llama.decode(Arrays.copyOf(ids, ids.length - 1))).endsWith("\uFFFD");
    }

    @Test
    void endOfTextComesFromTheTokenizerConfiguration() {
        assertThat(tokenizer(BYTES).endOfTextId()).isEqualTo(256);
        assertThat(tokenizer(LLAMA2_STYLE).endOfTextId()).isEqualTo(2);
        assertThat(tokenizer(QWEN3).endOfTextId()).isEqualTo(151645);
        assertThat(tokenizer(QWEN3).vocabulary().id("<|im_end|>")).isEqualTo(151645);
        assertThat(tokenizer(LLAMA3).endOfTextId()).isEqualTo(128001);
        assertThat(tokenizer(LLAMA3).vocabulary().id("<|end_of_text|>")).isEqualTo(128001);
    }

    @Test
    void withoutItsConfigurationQwen3WouldEndAtTheBaseModelsEndOfText(@TempDir Path dir)
            throws IOException {
        Path alone = dir.resolve("tokenizer.json");
        Files.copy(tokenizer(QWEN3).source(), alone, StandardCopyOption.REPLACE_EXISTING);
        assertThat(Vocabulary.read(alone).endOfTextId())
                .isEqualTo(tokenizer(QWEN3).vocabulary().id("<|endoftext|>"))
                .isEqualTo(151643);
    }

    @Test
    void knowsTheSizesOfTheRealVocabularies() {
        assertThat(tokenizer(BYTES).vocabSize()).isEqualTo(257);
        assertThat(tokenizer(LLAMA2_STYLE).vocabSize()).isEqualTo(2048);
        assertThat(tokenizer(QWEN3).vocabSize()).isEqualTo(151669);
        assertThat(tokenizer(LLAMA3).vocabSize()).isEqualTo(128256);
    }

    @Test
    void differentVocabulariesAreRefusedNamingBothSidesAndTheFirstDifference() {
        Vocabulary qwen = tokenizer(QWEN3).vocabulary();
        Vocabulary llama3 = tokenizer(LLAMA3).vocabulary();
        qwen.requireSameAs(qwen, "draft", "target");
        // Both byte-level BPEs: the bytes and the first merges agree, up to id 410.
        assertThatThrownBy(() -> qwen.requireSameAs(llama3, "draft", "target"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the draft and target tokenizers differ")
                .hasMessageContaining("token 'ith' is id 410 in the draft but id 411 in the target")
                .hasMessageContaining("one shared vocabulary");

        Vocabulary bytes = tokenizer(BYTES).vocabulary();
        Vocabulary llama2 = tokenizer(LLAMA2_STYLE).vocabulary();
        assertThatThrownBy(() -> bytes.requireSameAs(llama2, "draft", "target"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the draft and target tokenizers differ")
                .hasMessageContaining(
                        "token '\u0100' is id 0 in the draft but missing in the target");
    }
}
