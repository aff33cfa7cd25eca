package io.tetris.model;

/**
 * Puts DJL into offline mode before any DJL class initialises: no model-zoo downloads, no
 * telemetry, no probe of cloud metadata addresses (research/stack.md pitfall 4). Called by every
 * entry point into DJL in this package; explicit settings by the operator win.
 */
final class DjlRuntime {

    private DjlRuntime() {}

    static void ensureOffline() {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        // DJL NDArray maths is never used here; without this it would load a second engine.
        setIfAbsent("ai.djl.onnx.disable_alternative", "true");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
