package io.tetris.model;

import java.nio.file.Path;

/**
 * {@link LanguageModel} over an Optimum-style ONNX decoder export, run by ONNX Runtime. One
 * implementation per place the KV caches live ({@link OnnxModelOptions.KvCacheMode}): {@link
 * ResidentKvModel} keeps them where the model runs, {@link HeapKvModel} on the Java heap; {@link
 * #load} picks it.
 */
public sealed interface OnnxLanguageModel extends LanguageModel
        permits HeapKvModel, ResidentKvModel {

    /**
     * Loads {@code onnxFile}; fails naming the file and what is wrong when it is missing, not a
     * decoder with KV cache, or cannot be run.
     */
    static OnnxLanguageModel load(Path onnxFile, OnnxModelOptions options) {
        return OnnxModels.load(onnxFile, options);
    }

    OnnxModelOptions options();

    DecoderSignature signature();

    /**
     * Whether passes write new keys and values into the resident caches (the bundled pair's graphs)
     * rather than concatenating them onto a copy (any other export, or {@code native-concat}).
     */
    boolean writesCachesInPlace();

    /** How the KV caches are kept, for logs: in place, concatenated (general path), or heap. */
    String kvCacheDescription();

    /** Where the KV caches live now ({@code Cpu:0}, {@code Cuda:0}, or {@code heap}). */
    String cacheLocation();

    /** Bytes held by all KV caches (with native caches, the resident batch including holes). */
    long cacheBytes();

    @Override
    default int maxContext() {
        return options().maxContext();
    }
}
