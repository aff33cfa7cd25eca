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
 */
public record OnnxModelOptions(
        int maxContext,
        int intraOpThreads,
        int interOpThreads,
        ExecutionProvider executionProvider,
        int deviceId)
        implements java.io.Serializable {

    /** Where the model runs. */
    public enum ExecutionProvider {
        CPU,
        CUDA;

        /** Parses {@code cpu} or {@code cuda}, failing with the valid names. */
        public static ExecutionProvider parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "unknown execution provider '" + name + "'; use cpu or cuda", e);
            }
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
        if (deviceId < 0) {
            throw new IllegalArgumentException("device id must be >= 0, was " + deviceId);
        }
    }

    /** CPU (or CUDA in a gpu build) with ONNX Runtime's thread defaults. */
    public static OnnxModelOptions defaults(int maxContext) {
        return new OnnxModelOptions(maxContext, 0, 0, ExecutionProvider.buildDefault(), 0);
    }

    public OnnxModelOptions withThreads(int intraOp, int interOp) {
        return new OnnxModelOptions(maxContext, intraOp, interOp, executionProvider, deviceId);
    }
}
