package io.tetris.engine;

import io.tetris.model.BundledModels;
import java.nio.file.Path;

/**
 * {@link EngineTest} on the Llama-style pair in fp16 (fp16 caches and logits). Greedy output may
 * part from target-only output only at a near tie of the target's own: 0.05 nats is the tolerance
 * {@code LlamaFp16ModelTest} justifies for fp16 log-probabilities.
 */
class LlamaFp16EngineTest extends EngineTest {

    @Override
    Path dir() {
        return BundledModels.llama("fp16");
    }

    @Override
    double tieTolerance() {
        return 0.05;
    }
}
