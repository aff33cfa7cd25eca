package io.tetris.job;

import io.tetris.config.TetrisOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.flink.configuration.Configuration;

/** Finds the bundled {@code models/} folder above a test's working directory. */
public final class TestModels {

    private TestModels() {}

    /** A configuration pointing the job at the bundled models. */
    public static Configuration configuration() {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.DRAFT_MODEL, dir().resolve("draft.onnx").toString());
        conf.set(TetrisOptions.TARGET_MODEL, dir().resolve("target.onnx").toString());
        conf.set(TetrisOptions.TOKENIZER, dir().resolve("tokenizer.json").toString());
        return conf;
    }

    public static Path dir() {
        String override = System.getProperty("tetris.models.dir");
        if (override != null) {
            return Paths.get(override);
        }
        Path dir = Paths.get("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("models/tokenizer.json"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException(
                    "no models/ folder above " + Paths.get("").toAbsolutePath());
        }
        return dir.resolve("models");
    }
}
