package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link OnnxLanguageModelContract} on the Llama-style pair exported in fp16 (fp16 weights, caches
 * and logits, weights in an external-data file), against the fp32 PyTorch reference, within {@link
 * BundledModels#FP16_LOG_PROB_TOLERANCE}.
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
        return BundledModels.FP16_LOG_PROB_TOLERANCE;
    }

    @Test
    void keepsItsCachesInFp16InPlace() {
        assertThat(target.signature().kvType()).isEqualTo(DataType.FLOAT16);
        assertThat(target.signature().kvElementBytes()).isEqualTo(2);
        assertThat(target.writesCachesInPlace()).isTrue();
        assertThat(draft.writesCachesInPlace()).isTrue();
    }
}
