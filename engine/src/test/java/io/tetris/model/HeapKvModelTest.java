package io.tetris.model;

/** {@link OnnxLanguageModelContract} with the KV caches on the Java heap. */
class HeapKvModelTest extends OnnxLanguageModelContract {

    @Override
    OnnxModelOptions.KvCacheMode mode() {
        return OnnxModelOptions.KvCacheMode.HEAP;
    }
}
