package io.tetris.model;

/**
 * {@link OnnxLanguageModelContract} with resident KV caches on the general path: every pass
 * concatenates onto a copy, as for any export the in-place rewrite does not know.
 */
class NativeConcatKvModelTest extends OnnxLanguageModelContract {

    @Override
    OnnxModelOptions.KvCacheMode mode() {
        return OnnxModelOptions.KvCacheMode.NATIVE_CONCAT;
    }
}
