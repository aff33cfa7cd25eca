package io.tetris.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Properties;

/**
 * ONNX Runtime session settings for one model.
 *
 * @param maxContext longest sequence the model accepts (its position table)
 * @param intraOpThreads threads inside one operator; 0 lets ONNX Runtime choose
 * @param interOpThreads threads across operators; 0 lets ONNX Runtime choose
 * @param executionProvider where the model runs
 * @param deviceId accelerator index for {@link ExecutionProvider#CUDA}
 * @param kvCache where the KV caches live between forward passes
 * @param logitsGraph with native caches, reduce the logits with the ONNX graph even when they lie
 *     in host memory (always so in device memory); lets the CPU run and test a GPU's path
 * @param packRows with native caches, multiply the weights by a pass's real tokens only, not by the
 *     padding of rows shorter than the longest (see {@code PackedRows}); false pads, as before
 */
public record OnnxModelOptions(
        int maxContext,
        int intraOpThreads,
        int interOpThreads,
        ExecutionProvider executionProvider,
        int deviceId,
        KvCacheMode kvCache,
        boolean logitsGraph,
        boolean packRows)
        implements java.io.Serializable {

    /** Where a model keeps its KV caches between forward passes. */
    public enum KvCacheMode {
        /**
         * Resident where the model runs (ONNX Runtime memory, device memory on a GPU), bound
         * through IoBinding; only new token ids and mask columns go in, and reduced logits come
         * out.
         */
        NATIVE,
        /**
         * Resident like {@link #NATIVE}, but always on the general path: every pass concatenates
         * its new keys and values onto a copy of the cached ones, as any Optimum-style export does,
         * even when the graph would allow writing them in place. For comparisons and tests.
         */
        NATIVE_CONCAT,
        /**
         * On the Java heap, copied into every forward pass and back (the previous engine; kept as
         * the reference the native path is tested and benchmarked against).
         */
        HEAP;

        /** Parses {@code native}, {@code native-concat} or {@code heap}, failing otherwise. */
        public static KvCacheMode parse(String name) {
            return parseEnum(KvCacheMode.class, name, "KV cache mode");
        }
    }

    /** Where the model runs. */
    public enum ExecutionProvider {
        CPU,
        CUDA;

        /** Parses {@code cpu} or {@code cuda}, failing with the valid names. */
        public static ExecutionProvider parse(String name) {
            return parseEnum(ExecutionProvider.class, name, "execution provider");
        }

        /** {@code cuda} in a build with the {@code gpu} Maven profile, otherwise {@code cpu}. */
        public static ExecutionProvider buildDefault() {
            Properties build = new Properties();
            try (InputStream in = OnnxModelOptions.class.getResourceAsStream("build.properties")) {
                if (in != null) {
                    build.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return parse(build.getProperty("execution.provider", "cpu"));
        }
    }

    public OnnxModelOptions {
        if (maxContext < 1) {
            throw new IllegalArgumentException("max context must be >= 1, was " + maxContext);
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = automatic)");
        }
        java.util.Objects.requireNonNull(kvCache, "kvCache");
        if (deviceId < 0) {
            throw new IllegalArgumentException("device id must be >= 0, was " + deviceId);
        }
    }

    /** A constant by its lower-case name, failing with the valid names. */
    private static <E extends Enum<E>> E parseEnum(Class<E> type, String name, String what) {
        try {
            return Enum.valueOf(type, name.trim().replace('-', '_').toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            java.util.List<String> names =
                    java.util.Arrays.stream(type.getEnumConstants())
                            .map(c -> c.name().replace('_', '-').toLowerCase(Locale.ROOT))
                            .toList();
            throw new IllegalArgumentException(
                    "unknown " + what + " '" + name + "'; use " + String.join(" or ", names), e);
        }
    }

    /** CPU (or CUDA in a gpu build) with ONNX Runtime's thread defaults. */
    public static OnnxModelOptions defaults(int maxContext) {
        return new OnnxModelOptions(
                maxContext,
                0,
                0,
                ExecutionProvider.buildDefault(),
                0,
                KvCacheMode.NATIVE,
                false,
                true);
    }

    public OnnxModelOptions withThreads(int intraOp, int interOp) {
        return new OnnxModelOptions(
                maxContext,
                intraOp,
                interOp,
                executionProvider,
                deviceId,
                kvCache,
                logitsGraph,
                packRows);
    }

    public OnnxModelOptions withKvCache(KvCacheMode mode) {
        return new OnnxModelOptions(
                maxContext,
                intraOpThreads,
                interOpThreads,
                executionProvider,
                deviceId,
                mode,
                logitsGraph,
                packRows);
    }

    public OnnxModelOptions withLogitsGraph(boolean graph) {
        return new OnnxModelOptions(
                maxContext,
                intraOpThreads,
                interOpThreads,
                executionProvider,
                deviceId,
                kvCache,
                graph,
                packRows);
    }

    public OnnxModelOptions withPackRows(boolean pack) {
        return new OnnxModelOptions(
                maxContext,
                intraOpThreads,
                interOpThreads,
                executionProvider,
                deviceId,
                kvCache,
                logitsGraph,
                pack);
    }
}
