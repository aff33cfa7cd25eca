package io.tetris.job.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.model.BundledModels;
import io.tetris.operators.config.TetrisConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Tests for the engine options shared by the commands. */
class EngineOptionsTest {

    @Test
    void aSettingsFileOverridesTheOptionsAndDashDOverridesTheFile(@TempDir Path dir)
            throws Exception {
        Path settings = dir.resolve("tetris.properties");
        Files.writeString(settings, "tetris.policy=dsd\ntetris.k=3\ntetris.batch.max-running=7\n");
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo)
                .parseArgs(
                        "--models",
                        BundledModels.dir().toString(),
                        "--policy",
                        "fixed",
                        "--settings",
                        settings.toString(),
                        "-D",
                        "tetris.k=5");
        TetrisConfig config = TetrisConfig.from(demo.engine.configuration());
        assertThat(config.policy().policy().configName()).isEqualTo("dsd");
        assertThat(config.policy().k()).isEqualTo(5);
        assertThat(config.batch().maxRunning()).isEqualTo(7);
    }

    @Test
    void aMissingSettingsFileIsNamed(@TempDir Path dir) {
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo)
                .parseArgs(
                        "--models",
                        BundledModels.dir().toString(),
                        "--settings",
                        dir.resolve("nope.properties").toString());
        assertThatThrownBy(() -> demo.engine.configuration())
                .hasMessageContaining("cannot read --settings")
                .hasMessageContaining("nope.properties");
    }
}
