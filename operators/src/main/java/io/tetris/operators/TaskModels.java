package io.tetris.operators;

import io.tetris.engine.CachedModel;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.model.ModelCheck;
import io.tetris.model.OnnxLanguageModel;
import io.tetris.model.Vocabulary;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import java.io.File;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.function.Supplier;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.util.FlinkUserCodeClassLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a task on a TaskManager finds its model files and loads the native code that runs them, and
 * the failures no restart can fix, which end the job once with what to do instead of restarting it
 * forever.
 *
 * <p>A model setting is a path. It must exist on every TaskManager, unless it lies in a folder the
 * client shipped with the job through Flink's distributed cache ({@code serve --jobmanager} does
 * this by default, {@link TetrisConfig.Models#shippedFolders()}): each TaskManager then receives
 * that folder from the JobManager's blob server and reads the file from its copy, whatever its own
 * file system holds.
 */
public final class TaskModels {

    private static final Logger LOG = LoggerFactory.getLogger(TaskModels.class);

    private static volatile boolean warnedJobJar;

    private TaskModels() {}

    /**
     * The entry of {@link TetrisConfig.Models#shippedFolders()} for a folder shipped as {@code
     * name}.
     */
    public static String shippedFolder(String name, Path folder) {
        return name + "=" + folder;
    }

    /**
     * The local file for a model setting on this TaskManager; ends the job (no restart) when it is
     * not there, naming the setting, the TaskManager and what to do.
     *
     * @param option the setting's key, for the message
     * @param shippedFolders {@code NAME=FOLDER} entries of the folders shipped with the job
     */
    public static Path locate(
            RuntimeContext context, String setting, String option, List<String> shippedFolders) {
        Path path = Paths.get(setting);
        Path file = path;
        String shipped = null;
        for (String entry : shippedFolders) {
            int eq = entry.indexOf('=');
            String name = entry.substring(0, eq);
            Path folder = Paths.get(entry.substring(eq + 1));
            if (eq > 0 && path.isAbsolute() && path.normalize().startsWith(folder)) {
                File copy;
                try {
                    copy = context.getDistributedCache().getFile(name);
                } catch (RuntimeException e) {
                    throw unrecoverable(
                            option
                                    + ": the model folder "
                                    + folder
                                    + " was not shipped with the job as '"
                                    + name
                                    + "' ("
                                    + e.getMessage()
                                    + ")");
                }
                file = copy.toPath().resolve(folder.relativize(path.normalize()).toString());
                shipped = folder.toString();
                break;
            }
        }
        if (!Files.isRegularFile(file)) {
            throw unrecoverable(
                    "model file not found on TaskManager "
                            + host()
                            + ": "
                            + file.toAbsolutePath()
                            + " ("
                            + option
                            + (shipped != null
                                    ? ", in the copy of " + shipped + " shipped with the job"
                                    : "")
                            + "). A model path must exist on every TaskManager; or let serve"
                            + " --jobmanager ship the models with the job (--ship-models, the"
                            + " default).");
        }
        return file;
    }

    /** A class of ONNX Runtime's Java binding, to see where it is loaded from. */
    public static final String ONNX_RUNTIME = "ai.onnxruntime.OrtEnvironment";

    /** A class of DJL's tokenizers binding, to see where it is loaded from. */
    public static final String TOKENIZERS = "ai.djl.huggingface.tokenizers.HuggingFaceTokenizer";

    /**
     * Runs {@code load}, which loads native code (ONNX Runtime, DJL's tokenizers). The JVM binds a
     * native library to the first class loader that loads it; when those libraries come from the
     * job jar, every job (and every resubmission) on the TaskManager has a class loader of its own,
     * and all but the first fail. That ends the job once, saying how to fix it, instead of
     * restarting it forever.
     *
     * @param nativeBacked a class of the library, to warn when it comes from the job jar
     */
    public static <T> T loadNative(String what, String nativeBacked, Supplier<T> load) {
        try {
            warnIfFromJobJar(Class.forName(nativeBacked, false, TaskModels.class.getClassLoader()));
            return load.get();
        } catch (ClassNotFoundException e) {
            throw unrecoverable(
                    "cannot load " + what + ": " + nativeBacked + " is on no class path", e);
        } catch (LinkageError e) {
            String text = String.valueOf(e.getMessage());
            boolean bound =
                    text.contains("another classloader")
                            || text.contains("Could not initialize class");
            throw unrecoverable(
                    "cannot load "
                            + what
                            + " on TaskManager "
                            + host()
                            + ": "
                            + e
                            + (bound
                                    ? ". Its native library is bound to the class loader of an"
                                            + " earlier job on this TaskManager. Put the jars of"
                                            + " the job's target/flink-lib folder (ONNX Runtime,"
                                            + " DJL, its tokenizers, JNA, Gson) into Flink's lib/"
                                            + " on every TaskManager and set"
                                            + " classloader.parent-first-patterns.additional:"
                                            + " ai.djl.;ai.onnxruntime. (README, \"Remote Flink"
                                            + " cluster\"); restarting the TaskManager clears it"
                                            + " only until the next resubmission."
                                    : ""),
                    e);
        }
    }

    /** The target tokenizer of {@code models}, loaded on this TaskManager. */
    public static HuggingFaceTextTokenizer tokenizer(
            RuntimeContext context, TetrisConfig.Models models) {
        Path file =
                locate(
                        context,
                        models.tokenizer(),
                        TetrisOptions.TOKENIZER.key(),
                        models.shippedFolders());
        return loadNative(
                "the tokenizer " + file, TOKENIZERS, () -> HuggingFaceTextTokenizer.load(file));
    }

    /** The end-of-text token id of the target tokenizer, read on this TaskManager. */
    public static int endOfText(RuntimeContext context, TetrisConfig.Models models) {
        return Vocabulary.read(
                        locate(
                                context,
                                models.tokenizer(),
                                TetrisOptions.TOKENIZER.key(),
                                models.shippedFolders()))
                .endOfTextId();
    }

    /** The draft model of {@code models}, loaded on this TaskManager. */
    public static CachedModel draft(RuntimeContext context, TetrisConfig.Models models) {
        return model(context, models.draft(), TetrisOptions.DRAFT_MODEL.key(), models);
    }

    /** The target model of {@code models}, loaded on this TaskManager. */
    public static CachedModel target(RuntimeContext context, TetrisConfig.Models models) {
        return model(context, models.target(), TetrisOptions.TARGET_MODEL.key(), models);
    }

    private static CachedModel model(
            RuntimeContext context, String setting, String option, TetrisConfig.Models models) {
        Path file = locate(context, setting, option, models.shippedFolders());
        CachedModel model =
                loadNative(
                        "the model " + file,
                        ONNX_RUNTIME,
                        () -> CachedModel.load(file.toString(), models.onnx()));
        try {
            ModelCheck.requireRunnable(model.model(), file);
        } catch (IllegalArgumentException e) {
            try {
                model.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            // A graph that cannot run fails the same way after every restart; a first failure
            // may still be passing (device memory a failed attempt has not released yet), so the
            // job gets one restart before it ends.
            if (context.getTaskInfo().getAttemptNumber() > 0) {
                throw unrecoverable(e.getMessage() + " (" + option + ")", e);
            }
            throw e;
        }
        if (model.model() instanceof OnnxLanguageModel onnx) {
            LOG.info("Loaded {}: KV caches {}", file, onnx.kvCacheDescription());
        }
        return model;
    }

    /** Whether {@code type} was loaded from the job jar by a Flink user-code class loader. */
    public static boolean fromJobJar(Class<?> type) {
        return type.getClassLoader() instanceof FlinkUserCodeClassLoader;
    }

    private static void warnIfFromJobJar(Class<?> nativeBacked) {
        if (!warnedJobJar && fromJobJar(nativeBacked)) {
            warnedJobJar = true;
            LOG.warn(
                    "{} was loaded from the job jar, not from Flink's lib/: its native library"
                            + " binds to this job's class loader, and the next job or"
                            + " resubmission on this TaskManager cannot load it. Put the jars of"
                            + " the job's target/flink-lib into Flink's lib/ (README, \"Remote"
                            + " Flink cluster\").",
                    nativeBacked.getName());
        }
    }

    private static SuppressRestartsException unrecoverable(String message) {
        return unrecoverable(message, null);
    }

    private static SuppressRestartsException unrecoverable(String message, Throwable cause) {
        IllegalStateException problem = new IllegalStateException(message, cause);
        LOG.error("{} (the job ends; restarting it would not help)", message);
        return new SuppressRestartsException(problem);
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "(unknown host)";
        }
    }
}
