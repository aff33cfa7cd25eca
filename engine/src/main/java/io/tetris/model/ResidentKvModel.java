package io.tetris.model;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import io.tetris.model.ortnative.OrtApiShim;
import io.tetris.model.ortnative.ResidentKvBatch;
import java.nio.file.Path;
import java.util.List;

/**
 * {@link OnnxLanguageModel} with the caches resident in ONNX Runtime's memory between passes
 * ({@link OnnxModelOptions.KvCacheMode#NATIVE} and {@link
 * OnnxModelOptions.KvCacheMode#NATIVE_CONCAT}), run through IoBinding by a {@link ResidentKvBatch}:
 * only new token ids and mask columns go in, and reduced logits come out.
 */
public final class ResidentKvModel implements OnnxLanguageModel {

    private final DecoderSignature signature;
    private final OnnxModelOptions options;
    private final ResidentKvBatch resident;

    /** Logits width; read from a first pass when the graph leaves it dynamic. */
    private int vocab;

    private ResidentKvModel(
            DecoderSignature signature, OnnxModelOptions options, ResidentKvBatch resident) {
        this.signature = signature;
        this.options = options;
        this.resident = resident;
        this.vocab = signature.vocab();
    }

    static ResidentKvModel open(
            Path onnxFile,
            OnnxMl.ModelProto parsed,
            DecoderSignature signature,
            OnnxModelOptions options) {
        // DJL's engine creates ONNX Runtime's environment, with its thread settings, before any
        // session here does (a later DJL model would fail otherwise).
        ai.djl.engine.Engine.getEngine("OnnxRuntime");
        ResidentKvBatch resident;
        try (SessionOptions sessionOptions = OnnxModels.sessionOptions(options)) {
            resident =
                    ResidentKvBatch.open(
                            OrtApiShim.fromOfficialRuntime(),
                            onnxFile,
                            parsed,
                            sessionOptions,
                            signature,
                            options.executionProvider() == OnnxModelOptions.ExecutionProvider.CUDA
                                    ? "Cuda"
                                    : null,
                            options.deviceId(),
                            options.logitsGraph(),
                            options.kvCache() == OnnxModelOptions.KvCacheMode.NATIVE,
                            options.packRows());
        } catch (OrtException | RuntimeException e) {
            throw new IllegalArgumentException(
                    "cannot set up native KV caches for "
                            + onnxFile
                            + " (tetris.model.kv-cache=heap avoids them): "
                            + e.getMessage(),
                    e);
        }
        ResidentKvModel model = new ResidentKvModel(signature, options, resident);
        if (model.vocab <= 0) {
            model.vocab = OnnxModels.probeVocab(model);
        }
        return model;
    }

    @Override
    public ModelTraffic traffic() {
        return resident.traffic();
    }

    @Override
    public boolean writesCachesInPlace() {
        return resident.inPlace();
    }

    @Override
    public String kvCacheDescription() {
        return resident.inPlace()
                ? "resident, written in place"
                : "resident, concatenated in the model (general path)";
    }

    @Override
    public String cacheLocation() {
        return resident.cacheLocation();
    }

    @Override
    public OnnxModelOptions options() {
        return options;
    }

    @Override
    public DecoderSignature signature() {
        return signature;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public NextTokens[] next(List<Extension> batch) {
        OnnxModels.checkContext(this, batch);
        return resident.next(batch);
    }

    @Override
    public int cachedLength(String sequenceId) {
        return resident.cachedLength(sequenceId);
    }

    @Override
    public void truncate(String sequenceId, int length) {
        resident.truncate(sequenceId, length);
    }

    @Override
    public void release(String sequenceId) {
        resident.release(sequenceId);
    }

    @Override
    public int sequences() {
        return resident.sequences();
    }

    @Override
    public long cacheBytes() {
        return resident.cacheBytes();
    }

    @Override
    public void close() {
        resident.close();
    }
}
