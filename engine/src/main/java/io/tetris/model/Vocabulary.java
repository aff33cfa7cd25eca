package io.tetris.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The token-to-id map of a {@code tokenizer.json} (model vocabulary plus added tokens), read
 * directly from the file because the tokenizers binding does not expose it. Speculative decoding
 * needs draft and target to agree on it exactly.
 */
public final class Vocabulary {

    private final Map<String, Integer> ids;
    private final int size;

    private Vocabulary(Map<String, Integer> ids) {
        this.ids = ids;
        this.size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    }

    /** Reads the vocabulary of a Hugging Face {@code tokenizer.json}. */
    public static Vocabulary read(Path tokenizerJson) {
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
            return new Vocabulary(Map.copyOf(ids));
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

    /** End-of-text spellings in common vocabularies, tried in order. */
    private static final java.util.List<String> END_OF_TEXT =
            java.util.List.of("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>");

    /** The id of the end-of-text token, or -1 when the vocabulary has none. */
    public int endOfTextId() {
        for (String candidate : END_OF_TEXT) {
            int id = id(candidate);
            if (id >= 0) {
                return id;
            }
        }
        return -1;
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
     * Fails with a message naming the first difference when the two vocabularies are not the same
     * map.
     */
    public void requireSameAs(Vocabulary other, String thisName, String otherName) {
        if (ids.equals(other.ids)) {
            return;
        }
        String difference = "sizes " + size + " and " + other.size;
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            Integer theirs = other.ids.get(e.getKey());
            if (!Objects.equals(theirs, e.getValue())) {
                difference =
                        "token "
                                + quote(e.getKey())
                                + " is id "
                                + e.getValue()
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
