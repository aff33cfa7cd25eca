package io.tetris.model;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Builds the {@link OnnxLanguageModel} for a file and its options' KV cache mode. */
final class OnnxModels {

    private OnnxModels() {}

    static OnnxLanguageModel load(Path onnxFile, OnnxModelOptions options) {
        Objects.requireNonNull(options, "options");
        return DjlRuntime.onLargeStack(
                "loading " + onnxFile.getFileName(), () -> loadHere(onnxFile, options));
    }

    private static OnnxLanguageModel loadHere(Path onnxFile, OnnxModelOptions options) {
        if (!Files.isRegularFile(onnxFile)) {
            throw new IllegalArgumentException("model file not found: " + onnxFile);
        }
        OnnxMl.ModelProto parsed = DecoderSignature.parse(onnxFile);
        DecoderSignature signature = DecoderSignature.of(parsed, onnxFile.toString());
        DjlRuntime.ensureOffline();
        return switch (options.kvCache()) {
            case NATIVE, NATIVE_CONCAT ->
                    ResidentKvModel.open(onnxFile, parsed, signature, options);
            case HEAP -> HeapKvModel.open(onnxFile, signature, options);
        };
    }

    /** Fails when an extension would pass the context; returns the batch indices with tokens. */
    static List<Integer> checkContext(LanguageModel model, List<LanguageModel.Extension> batch) {
        List<Integer> rows = new ArrayList<>();
        for (int b = 0; b < batch.size(); b++) {
            LanguageModel.Extension e = batch.get(b);
            int total = model.cachedLength(e.sequenceId()) + e.tokens().length;
            if (total > model.maxContext()) {
                throw new IllegalArgumentException(
                        "sequence "
                                + e.sequenceId()
                                + " would reach "
                                + total
                                + " tokens, beyond the model context of "
                                + model.maxContext());
            }
            if (e.tokens().length > 0) {
                rows.add(b);
            }
        }
        return rows;
    }

    /** The logits width of a graph that leaves it dynamic, read from one pass. */
    static int probeVocab(LanguageModel model) {
        String probe = "\u0000vocab-probe";
        try {
            return model.next(List.of(new LanguageModel.Extension(probe, new int[] {0})))[0]
                    .logProbs()[0]
                    .length;
        } finally {
            model.release(probe);
        }
    }

    static SessionOptions sessionOptions(OnnxModelOptions options) throws OrtException {
        SessionOptions session = new SessionOptions();
        // Idle intra-op workers would otherwise spin after every parallel section and take the
        // cores from the Java work between runs (input binding, reducing logits, the round):
        // measured here, that host work took twice as long with spinning, for no faster runs.
        session.addConfigEntry("session.intra_op.allow_spinning", "0");
        if (options.intraOpThreads() > 0) {
            session.setIntraOpNumThreads(options.intraOpThreads());
        }
        if (options.interOpThreads() > 0) {
            session.setInterOpNumThreads(options.interOpThreads());
        }
        if (options.executionProvider() == OnnxModelOptions.ExecutionProvider.CUDA) {
            session.addCUDA(options.deviceId());
        }
        return session;
    }
}
