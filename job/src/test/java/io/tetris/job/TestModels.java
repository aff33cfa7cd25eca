package io.tetris.job;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Finds the bundled {@code models/} folder above a test's working directory. */
public final class TestModels {

    private TestModels() {}

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
