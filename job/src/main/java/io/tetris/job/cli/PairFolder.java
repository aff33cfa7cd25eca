package io.tetris.job.cli;

import java.nio.file.Path;
import picocli.CommandLine.Parameters;

/** The optional folder of a model pair that the {@code models} subcommands take first. */
final class PairFolder {

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "DIR",
            description = "The pair's folder (default: the bundled models).")
    Path dir;

    /** The folder given, or the bundled models. */
    Path orBundled() {
        return dir != null ? dir : ModelsOption.bundledModels();
    }
}
