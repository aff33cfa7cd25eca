package io.tetris.model;

/**
 * {@link OnnxLanguageModelContract} with the KV caches resident in ONNX Runtime's memory, written
 * in place (the bundled graphs).
 */
class NativeKvModelTest extends OnnxLanguageModelContract {

    @Override
    OnnxModelOptions.KvCacheMode mode() {
        return OnnxModelOptions.KvCacheMode.NATIVE;
    }
}
