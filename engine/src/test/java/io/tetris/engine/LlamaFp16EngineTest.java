package io.tetris.engine;

import io.tetris.model.BundledModels;
import java.nio.file.Path;

/**
 * {@link EngineTest} on the Llama-style pair in fp16 (fp16 caches and logits). Greedy output may
 * part from target-only output only at a near tie of the target's own, within {@link
 * BundledModels#FP16_LOG_PROB_TOLERANCE}.
 */
class LlamaFp16EngineTest extends EngineTest {

    @Override
    Path dir() {
        return BundledModels.llama("fp16");
    }

    @Override
    double tieTolerance() {
        return BundledModels.FP16_LOG_PROB_TOLERANCE;
    }
}
