package io.tetris.model;

/**
 * Puts DJL into offline mode before any DJL class initialises: no model-zoo downloads, no
 * telemetry, no probe of cloud metadata addresses (research/stack.md pitfall 4). Called by every
 * entry point into DJL in this package; explicit settings by the operator win.
 */
public final class DjlRuntime {

    private DjlRuntime() {}

    public static void ensureOffline() {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        // DJL NDArray maths is never used here; without this it would load a second engine.
        setIfAbsent("ai.djl.onnx.disable_alternative", "true");
    }

    /**
     * Runs {@code task} on a fresh thread with a large stack and waits for it. Creating an ONNX
     * Runtime session (engine start-up probes the CUDA runtime, then graph optimisation) overflows
     * a default 1 MiB thread stack in native code, which kills the JVM with SIGSEGV instead of
     * throwing; Flink task threads and a plain {@code main} have such stacks.
     */
    public static <T> T onLargeStack(String name, java.util.concurrent.Callable<T> task) {
        java.util.concurrent.atomic.AtomicReference<T> result =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure =
                new java.util.concurrent.atomic.AtomicReference<>();
        Thread thread =
                new Thread(
                        null,
                        () -> {
                            try {
                                result.set(task.call());
                            } catch (Throwable t) {
                                failure.set(t);
                            }
                        },
                        name,
                        LARGE_STACK_BYTES);
        thread.setContextClassLoader(Thread.currentThread().getContextClassLoader());
        thread.start();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + name, e);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(name + " failed: " + t.getMessage(), t);
        }
        return result.get();
    }

    private static final long LARGE_STACK_BYTES = 64L << 20;

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
