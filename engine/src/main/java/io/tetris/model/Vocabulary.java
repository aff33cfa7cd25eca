package io.tetris.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The token-to-id map of a {@code tokenizer.json} (model vocabulary plus added tokens), read
 * directly from the file because the tokenizers binding does not expose it. Speculative decoding
 * needs draft and target to agree on it exactly.
 *
 * <p>Also the id that ends a document, as the model's release names it beside the tokenizer: the
 * {@code eos_token} of {@code tokenizer_config.json}, else the (first) {@code eos_token_id} of
 * {@code generation_config.json}, else the first of a few common spellings found in the vocabulary.
 * A base model's {@code <|endoftext|>} is not always what a chat model ends its turns with (Qwen3
 * ends them with {@code <|im_end|>}).
 */
public final class Vocabulary {

    /** Beside {@code tokenizer.json}: its {@code eos_token} names the end-of-text token. */
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    /** Beside {@code tokenizer.json}: its {@code eos_token_id} (or the first of a list) is it. */
    public static final String GENERATION_CONFIG = "generation_config.json";

    private final Map<String, Integer> ids;
    private final int size;
    private final int endOfTextId;

    private Vocabulary(Map<String, Integer> ids, Path tokenizerJson) {
        this.ids = ids;
        this.size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.endOfTextId = configuredEndOfText(tokenizerJson);
    }

    /**
     * Reads the vocabulary of a Hugging Face {@code tokenizer.json}, and its end-of-text token from
     * the configuration files beside it; fails naming the file when one of them is malformed or
     * names a token the vocabulary does not have.
     */
    public static Vocabulary read(Path tokenizerJson) {
        return new Vocabulary(readIds(tokenizerJson), tokenizerJson);
    }

    private static Map<String, Integer> readIds(Path tokenizerJson) {
        try (Reader reader = Files.newBufferedReader(tokenizerJson, StandardCharsets.UTF_8)) {
            JsonObject root = JsonParser.parseReader(reader).getAsJsonObject();
            Map<String, Integer> ids = new TreeMap<>();
            JsonElement vocab = root.getAsJsonObject("model").get("vocab");
            if (vocab != null && vocab.isJsonObject()) {
                for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                    ids.put(e.getKey(), e.getValue().getAsInt());
                }
            } else if (vocab != null && vocab.isJsonArray()) {
                // Unigram models list [piece, score] pairs; the id is the index.
                JsonArray pieces = vocab.getAsJsonArray();
                for (int i = 0; i < pieces.size(); i++) {
                    ids.put(pieces.get(i).getAsJsonArray().get(0).getAsString(), i);
                }
            }
            JsonElement added = root.get("added_tokens");
            if (added != null && added.isJsonArray()) {
                for (JsonElement token : added.getAsJsonArray()) {
                    JsonObject t = token.getAsJsonObject();
                    ids.put(t.get("content").getAsString(), t.get("id").getAsInt());
                }
            }
            if (ids.isEmpty()) {
                throw new IllegalArgumentException(
                        "tokenizer " + tokenizerJson + " has no vocabulary under model.vocab");
            }
            return Map.copyOf(ids);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + tokenizerJson, e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException(
                    "tokenizer " + tokenizerJson + " is not a valid tokenizer.json: " + e, e);
        }
    }

    /** End-of-text spellings in common vocabularies, tried in order when no file names one. */
    private static final List<String> END_OF_TEXT =
            List.of("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>");

    /**
     * The id of the end-of-text token as the configuration beside the tokenizer names it (see the
     * class comment), or -1 when nothing names one and the vocabulary has none of the common
     * spellings.
     */
    public int endOfTextId() {
        return endOfTextId;
    }

    private int configuredEndOfText(Path tokenizerJson) {
        Path dir = tokenizerJson.toAbsolutePath().getParent();
        Path tokenizerConfig = dir.resolve(TOKENIZER_CONFIG);
        if (Files.isRegularFile(tokenizerConfig)) {
            String token = eosToken(readObject(tokenizerConfig).get("eos_token"), tokenizerConfig);
            if (token != null) {
                int id = id(token);
                if (id < 0) {
                    throw new IllegalArgumentException(
                            tokenizerConfig
                                    + " names the eos_token "
                                    + quote(token)
                                    + ", which is not in the vocabulary of "
                                    + tokenizerJson);
                }
                return id;
            }
        }
        Path generationConfig = dir.resolve(GENERATION_CONFIG);
        if (Files.isRegularFile(generationConfig)) {
            JsonElement eos = readObject(generationConfig).get("eos_token_id");
            if (eos != null && eos.isJsonArray()) {
                eos = eos.getAsJsonArray().isEmpty() ? null : eos.getAsJsonArray().get(0);
            }
            if (eos != null && !eos.isJsonNull()) {
                int id = tokenId(eos, generationConfig);
                if (!ids.containsValue(id)) {
                    throw new IllegalArgumentException(
                            generationConfig
                                    + " names the eos_token_id "
                                    + id
                                    + ", which is not an id of the vocabulary of "
                                    + tokenizerJson
                                    + " ("
                                    + size
                                    + " ids)");
                }
                return id;
            }
        }
        for (String candidate : END_OF_TEXT) {
            int id = id(candidate);
            if (id >= 0) {
                return id;
            }
        }
        return -1;
    }

    /** An {@code eos_token}: a string, or an added-token object with its {@code content}. */
    private static String eosToken(JsonElement eos, Path file) {
        if (eos == null || eos.isJsonNull()) {
            return null;
        }
        if (eos.isJsonObject() && eos.getAsJsonObject().has("content")) {
            eos = eos.getAsJsonObject().get("content");
        }
        if (eos.isJsonPrimitive() && eos.getAsJsonPrimitive().isString()) {
            return eos.getAsString();
        }
        throw new IllegalArgumentException(
                file
                        + ": eos_token must be a string or an object with a content string, not "
                        + eos);
    }

    private static int tokenId(JsonElement id, Path file) {
        if (id.isJsonPrimitive() && id.getAsJsonPrimitive().isNumber()) {
            try {
                return id.getAsJsonPrimitive().getAsBigDecimal().intValueExact();
            } catch (ArithmeticException e) {
                // not an int: reported below
            }
        }
        throw new IllegalArgumentException(
                file + ": eos_token_id must be a token id or a list of them, not " + id);
    }

    private static JsonObject readObject(Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement root = JsonParser.parseReader(reader);
            if (!root.isJsonObject()) {
                throw new IllegalArgumentException(file + " is not a JSON object");
            }
            return root.getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Bytes of the longest entry in UTF-8: an upper bound of the text one token adds to an output
     * (byte-level vocabularies spell each byte as one character of at most two UTF-8 bytes).
     */
    public int longestTokenBytes() {
        int longest = 0;
        for (String token : ids.keySet()) {
            longest = Math.max(longest, token.getBytes(StandardCharsets.UTF_8).length);
        }
        return longest;
    }

    /** One past the largest id. */
    public int size() {
        return size;
    }

    /** The id of {@code token}, or -1. */
    public int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    /**
     * Fails with a message naming the first difference (in id order) when the two vocabularies are
     * not the same map.
     */
    public void requireSameAs(Vocabulary other, String thisName, String otherName) {
        if (ids.equals(other.ids)) {
            return;
        }
        // Both sides' tokens in id order, this side's first where an id has two.
        Comparator<Map.Entry<String, Integer>> byToken = Map.Entry.comparingByKey();
        List<Map.Entry<String, Integer>> entries = new ArrayList<>(ids.entrySet());
        entries.sort(byToken);
        List<Map.Entry<String, Integer>> theirEntries = new ArrayList<>(other.ids.entrySet());
        theirEntries.sort(byToken);
        entries.addAll(theirEntries);
        entries.sort(Map.Entry.comparingByValue()); // stable
        String difference = "sizes " + size + " and " + other.size;
        for (Map.Entry<String, Integer> e : entries) {
            Integer ours = ids.get(e.getKey());
            Integer theirs = other.ids.get(e.getKey());
            if (!Objects.equals(ours, theirs)) {
                difference =
                        "token "
                                + quote(e.getKey())
                                + " is "
                                + (ours == null ? "missing" : "id " + ours)
                                + " in the "
                                + thisName
                                + " but "
                                + (theirs == null ? "missing" : "id " + theirs)
                                + " in the "
                                + otherName;
                break;
            }
        }
        throw new IllegalArgumentException(
                "the "
                        + thisName
                        + " and "
                        + otherName
                        + " tokenizers differ ("
                        + difference
                        + "); speculative decoding needs one shared vocabulary");
    }

    private static String quote(String token) {
        StringBuilder out = new StringBuilder("'");
        token.codePoints()
                .forEach(
                        c -> {
                            if (c < 0x20 || c == 0x7f) {
                                out.append(String.format("\\u%04x", c));
                            } else {
                                out.appendCodePoint(c);
                            }
                        });
        return out.append('\'').toString();
    }
}
