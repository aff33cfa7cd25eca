package io.tetris.model;

/** {@link OnnxLanguageModelContract} with the KV caches resident in ONNX Runtime's memory. */
class NativeKvModelTest extends OnnxLanguageModelContract {

    @Override
    OnnxModelOptions.KvCacheMode mode() {
        return OnnxModelOptions.KvCacheMode.NATIVE;
    }
}
