package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link OnnxLanguageModelContract} on the Llama-style pair exported in fp16 (fp16 weights, caches
 * and logits, weights in an external-data file), against the fp32 PyTorch reference.
 *
 * <p>The tolerance: fp16 keeps 11 significant bits, a relative step of 2^-11 ≈ 4.9e-4. The
 * log-probabilities compared are around -5 to -15, where one step is 0.004 to 0.008, and each of
 * the target's four layers rounds its activations again; 0.05 allows a few such steps per layer and
 * is still far below the gap between a right and a wrong graph (a wrong rotary angle or a missing
 * mask moves log-probabilities by whole units).
 */
class LlamaFp16ModelTest extends OnnxLanguageModelContract {

    @Override
    OnnxModelOptions.KvCacheMode mode() {
        return OnnxModelOptions.KvCacheMode.NATIVE;
    }

    @Override
    Path dir() {
        return BundledModels.llama("fp16");
    }

    @Override
    double tolerance() {
        return 0.05;
    }

    @Test
    void keepsItsCachesInFp16InPlace() {
        assertThat(target.signature().kvType()).isEqualTo(DataType.FLOAT16);
        assertThat(target.signature().kvElementBytes()).isEqualTo(2);
        assertThat(target.writesCachesInPlace()).isTrue();
        assertThat(draft.writesCachesInPlace()).isTrue();
    }
}
