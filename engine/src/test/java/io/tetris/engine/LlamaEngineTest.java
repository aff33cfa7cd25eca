package io.tetris.engine;

import io.tetris.model.BundledModels;
import java.nio.file.Path;

/** {@link EngineTest} on the Llama-style pair in fp32. */
class LlamaEngineTest extends EngineTest {

    @Override
    Path dir() {
        return BundledModels.llama("fp32");
    }
}
