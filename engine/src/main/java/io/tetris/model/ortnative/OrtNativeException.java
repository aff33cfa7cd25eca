package io.tetris.model.ortnative;

/** A failed {@code OrtStatus*} from ONNX Runtime's C API, with ORT's own error message. */
public final class OrtNativeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int code;

    OrtNativeException(String call, int code, String message) {
        super(call + " failed (OrtErrorCode " + code + "): " + message);
        this.code = code;
    }

    /** ORT's {@code OrtErrorCode}. */
    public int code() {
        return code;
    }
}
