package io.tetris.job.cli;

import io.tetris.operators.config.TetrisOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Option;

/** The {@code --models} option of every command that loads the models. */
final class ModelsOption {

    @Option(
            names = "--models",
            paramLabel = "DIR",
            description =
                    "Folder with draft.onnx, target.onnx and tokenizer.json (default: the bundled"
                            + " models).")
    Path models;

    @Option(
            names = "--kv-cache",
            paramLabel = "MODE",
            description =
                    "Where the models keep their KV caches: native (resident in ONNX Runtime's"
                            + " memory, written in place where the graph allows; the default),"
                            + " native-concat (resident, always concatenated: the general path)"
                            + " or heap (the previous engine); same as tetris.model.kv-cache.")
    String kvCache;

    @Option(
            names = "--pad-rows",
            description =
                    "Pad every row of a pass to the longest instead of multiplying the weights by"
                            + " the real tokens only (the earlier engine, for comparison); same as"
                            + " tetris.model.pack-rows=false.")
    boolean padRows;

    /** The chosen folder, or the bundled one. */
    Path dir() {
        return models != null ? models : bundledModels();
    }

    /** Points the model settings at the chosen folder. */
    void applyTo(Configuration conf) {
        Path dir = dir();
        conf.set(TetrisOptions.DRAFT_MODEL, dir.resolve("draft.onnx").toString());
        conf.set(TetrisOptions.TARGET_MODEL, dir.resolve("target.onnx").toString());
        conf.set(TetrisOptions.TOKENIZER, dir.resolve("tokenizer.json").toString());
        if (kvCache != null) {
            conf.set(TetrisOptions.KV_CACHE, kvCache);
        }
        if (padRows) {
            conf.set(TetrisOptions.PACK_ROWS, false);
        }
    }

    /** {@code models/} under the installation (the launcher passes it) or the working folder. */
    static Path bundledModels() {
        String home = System.getProperty("tetris.home");
        Path base = home != null ? Paths.get(home) : Paths.get("").toAbsolutePath();
        Path dir = base.resolve("models");
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(
                    "no models/ folder under " + base + "; pass --models DIR");
        }
        return dir;
    }
}
