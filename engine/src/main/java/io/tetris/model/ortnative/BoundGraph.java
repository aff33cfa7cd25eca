package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Pointer;

/**
 * A small helper graph's session and the IoBinding it runs through, created and closed together
 * ({@link KvGather}, {@link KvScatter}, {@link LogitsReducer}).
 */
final class BoundGraph implements AutoCloseable {

    private final OrtApiShim ort;
    private final OrtSession session;
    private final Pointer binding;

    /**
     * A session for {@code graph} with {@code options} (the model's, so it runs on the same
     * provider). Session creation needs a large native stack, like every ORT session here.
     */
    BoundGraph(OrtApiShim ort, OnnxMl.GraphProto.Builder graph, OrtSession.SessionOptions options) {
        this.ort = ort;
        this.session = OnnxGraphs.session(graph, options);
        this.binding = ort.createIoBinding(OrtApiShim.session(session));
    }

    Pointer binding() {
        return binding;
    }

    /** {@code RunWithBinding} with what is bound now. */
    void run() {
        ort.runWithBinding(OrtApiShim.session(session), binding);
    }

    @Override
    public void close() {
        ort.releaseIoBinding(binding);
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("cannot close a helper graph's session", e);
        }
    }
}
