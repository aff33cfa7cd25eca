package io.tetris.model.widen;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The transformers-style configuration of a widened target ({@code config_target.json}): the hidden
 * size, MLP width, query heads and KV heads times m, the head size and everything else as the
 * source's, key order and number spelling kept. The head counts are checked against the graph the
 * widener wrote.
 */
public final class WidenedConfig {

    /** The configuration file names of a pair's target, as {@code models check} reads them. */
    public static final List<String> FILES = List.of("config_target.json", "config.json");

    private static final List<String> WIDENED =
            List.of(
                    "hidden_size",
                    "intermediate_size",
                    "num_attention_heads",
                    "num_key_value_heads",
                    "n_embd",
                    "n_head");

    private WidenedConfig() {}

    /**
     * Writes the widened copy of {@code from}'s target configuration into {@code to}, if it has
     * one; returns what changed ("hidden_size 128 -> 1024", ...), empty when there is none.
     */
    public static List<String> write(Path from, Path to, int factor, TargetWidener.Widened widened)
            throws IOException {
        List<String> changes = new ArrayList<>();
        for (String name : FILES) {
            Path source = from.resolve(name);
            if (!Files.isRegularFile(source)) {
                continue;
            }
            JsonObject config;
            try (Reader r = Files.newBufferedReader(source, StandardCharsets.UTF_8)) {
                config = JsonParser.parseReader(r).getAsJsonObject();
            }
            for (String key : WIDENED) {
                JsonElement value = config.get(key);
                if (value == null) {
                    continue;
                }
                long widenedValue = value.getAsLong() * factor;
                config.addProperty(key, widenedValue);
                changes.add(name + " " + key + " " + value + " -> " + widenedValue);
            }
            check(config, "num_attention_heads", widened.heads(), source);
            check(config, "num_key_value_heads", widened.kvHeads(), source);
            try (Writer w = Files.newBufferedWriter(to.resolve(name), StandardCharsets.UTF_8)) {
                new GsonBuilder().setPrettyPrinting().create().toJson(config, w);
                w.write("\n");
            }
        }
        return changes;
    }

    private static void check(JsonObject config, String key, int graph, Path source) {
        if (config.has(key) && config.get(key).getAsLong() != graph) {
            throw new IllegalStateException(
                    source
                            + " widened says "
                            + key
                            + " "
                            + config.get(key)
                            + " but the widened graph has "
                            + graph);
        }
    }
}
