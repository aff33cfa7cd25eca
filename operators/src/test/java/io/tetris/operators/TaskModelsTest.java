package io.tetris.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.flink.api.common.cache.DistributedCache;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskModelsTest {

    @TempDir Path dir;

    @Test
    void aMissingModelFileEndsTheJobNamingFileSettingAndRemedy() {
        Path missing = dir.resolve("nowhere/target.onnx");

        assertThatThrownBy(
                        () ->
                                TaskModels.locate(
                                        context(Map.of()),
                                        missing.toString(),
                                        "opt.key",
                                        List.of()))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining("model file not found on TaskManager")
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("opt.key")
                .hasMessageContaining("--ship-models");
    }

    @Test
    void aFileInAShippedFolderIsReadFromTheCopyTheDistributedCacheHandsOver() throws Exception {
        Path client = dir.resolve("client/models");
        Path copy = Files.createDirectories(dir.resolve("copy-on-this-taskmanager/models"));
        Files.writeString(copy.resolve("tokenizer.json"), "{}");
        RuntimeContext context =
                context(
                        Map.of(
                                "tetris-models-0",
                                CompletableFuture.completedFuture(
                                        new org.apache.flink.core.fs.Path(copy.toUri()))));
        List<String> shipped = List.of(TaskModels.shippedFolder("tetris-models-0", client));
        assertThat(shipped).containsExactly("tetris-models-0=" + client);

        assertThat(
                        TaskModels.locate(
                                context, client.resolve("tokenizer.json").toString(), "k", shipped))
                .isEqualTo(copy.resolve("tokenizer.json"));
        assertThatThrownBy(
                        () ->
                                TaskModels.locate(
                                        context,
                                        client.resolve("draft.onnx").toString(),
                                        "k",
                                        shipped))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining(copy.resolve("draft.onnx").toString())
                .hasMessageContaining("in the copy of " + client + " shipped with the job");
        assertThatThrownBy(
                        () ->
                                TaskModels.locate(
                                        context,
                                        client.resolve("draft.onnx").toString(),
                                        "k",
                                        List.of(TaskModels.shippedFolder("other", client))))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining("was not shipped with the job as 'other'");
        // Outside the shipped folder a path is a path.
        Path elsewhere = Files.writeString(dir.resolve("elsewhere.json"), "{}");
        assertThat(TaskModels.locate(context, elsewhere.toString(), "k", shipped))
                .isEqualTo(elsewhere);
    }

    @Test
    void aNativeLibraryBoundToAnotherJobsClassLoaderEndsTheJobWithTheLibStep() {
        assertThatThrownBy(
                        () ->
                                TaskModels.loadNative(
                                        "the tokenizer",
                                        TaskModels.TOKENIZERS,
                                        () -> {
                                            throw new UnsatisfiedLinkError(
                                                    "Native Library /x/libtokenizers.so already"
                                                            + " loaded in another classloader");
                                        }))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining("already loaded in another classloader")
                .hasMessageContaining("target/flink-lib")
                .hasMessageContaining("classloader.parent-first-patterns.additional");
        assertThat(TaskModels.loadNative("x", TaskModels.ONNX_RUNTIME, () -> 42)).isEqualTo(42);
    }

    @Test
    void classesOnTheApplicationClassPathAreNotFromAJobJar() {
        assertThat(TaskModels.fromJobJar(TaskModels.class)).isFalse();
    }

    /** A runtime context that only knows its distributed cache. */
    private static RuntimeContext context(
            Map<String, Future<org.apache.flink.core.fs.Path>> files) {
        DistributedCache cache = new DistributedCache(files);
        return (RuntimeContext)
                Proxy.newProxyInstance(
                        TaskModelsTest.class.getClassLoader(),
                        new Class<?>[] {RuntimeContext.class},
                        (proxy, method, args) -> {
                            if (method.getName().equals("getDistributedCache")) {
                                return cache;
                            }
                            throw new UnsupportedOperationException(method.getName());
                        });
    }
}
