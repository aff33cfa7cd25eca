package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Pointer;
import io.tetris.core.LogitsTransform;
import io.tetris.model.BundledModels;
import io.tetris.model.ByteTokens;
import io.tetris.model.DecoderSignature;
import io.tetris.model.HeapKvModel;
import io.tetris.model.LanguageModel.Extension;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The JNA IoBinding probe on the bundled target model (CPU EP): the KV cache stays native between
 * steps and the logits equal those of the Java-array path ({@link HeapKvModel}).
 */
class NativeKvDecoderTest {

    private static final double TOLERANCE = 1e-4;

    @Test
    void chainedNativeCachesGiveTheLogitsOfTheJavaArrayPath() throws Exception {
        onLargeStack(
                () -> {
                    HeapKvModel reference =
                            (HeapKvModel)
                                    BundledModels.load(
                                            BundledModels.target(),
                                            io.tetris.model.OnnxModelOptions.KvCacheMode.HEAP);
                    DecoderSignature signature = DecoderSignature.read(BundledModels.target());
                    OrtApiShim ort = OrtApiShim.fromOfficialRuntime();
                    OrtEnvironment env = OrtEnvironment.getEnvironment();
                    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                        options.setIntraOpNumThreads(1);
                        options.setInterOpNumThreads(1);
                        try (OrtSession session =
                                        env.createSession(
                                                BundledModels.target().toString(), options);
                                NativeKvDecoder decoder =
                                        new NativeKvDecoder(ort, session, signature, null)) {
                            run(reference, decoder, signature, ort);
                        }
                    } finally {
                        reference.close();
                    }
                    return null;
                });
    }

    private static void run(
            HeapKvModel reference,
            NativeKvDecoder decoder,
            DecoderSignature signature,
            OrtApiShim ort) {
        String id = "native-kv";
        // Prefill, greedy decode steps of one token, then a verification-like step of four.
        List<int[]> steps = new ArrayList<>();
        steps.add(ByteTokens.of("Speculative decoding on a GPU"));
        int[] next = null;
        long kvBytesPerToken =
                2L * signature.layers() * signature.kvHeads() * signature.headDim() * 4;
        List<Long> heapBytes = new ArrayList<>();
        List<Long> javaPathBytes = new ArrayList<>();
        List<Long> callsPerStep = new ArrayList<>();
        double worst = 0;
        for (int s = 0; s < 10; s++) {
            int[] tokens;
            if (s == 0) {
                tokens = steps.get(0);
            } else if (s == 8) {
                tokens = ByteTokens.of(" and");
            } else {
                tokens = next;
            }
            List<Pointer> before = Arrays.asList(decoder.pastValues());
            float[][] expected = reference.extendLogits(List.of(new Extension(id, tokens)))[0];
            long callsBefore = ort.calls();
            float[][] actual = decoder.step(tokens);
            callsPerStep.add(ort.calls() - callsBefore);
            assertThat(actual.length).isEqualTo(tokens.length);
            for (int j = 0; j < tokens.length; j++) {
                worst =
                        Math.max(
                                worst,
                                assertClose(actual[j], expected[j], "step " + s + " row " + j));
            }
            assertThat(decoder.length()).isEqualTo(reference.cachedLength(id));
            // The cache is new native values each step, never a Java array.
            assertThat(decoder.pastValues()).hasSize(2 * signature.layers());
            if (!before.isEmpty()) {
                assertThat(Arrays.asList(decoder.pastValues())).doesNotContainAnyElementsOf(before);
            }
            assertThat(decoder.lastKvBytes()).isEqualTo(kvBytesPerToken * decoder.length());
            assertThat(decoder.kvLocation()).isEqualTo("Cpu:0");
            // Only the logits came back to the heap.
            assertThat(decoder.lastHeapBytes())
                    .isEqualTo(4L * tokens.length * reference.vocabSize());
            if (tokens.length == 1) {
                heapBytes.add(decoder.lastHeapBytes());
            }
            // What the Java-array path moves each step: the whole past in, the whole present out.
            javaPathBytes.add(
                    kvBytesPerToken * (decoder.length() - tokens.length)
                            + kvBytesPerToken * decoder.length());
            next = new int[] {LogitsTransform.argmax(actual[tokens.length - 1])};
        }
        // Same bytes per single-token step whatever the context length.
        assertThat(heapBytes).hasSizeGreaterThan(5);
        assertThat(heapBytes.stream().distinct().count()).isEqualTo(1);
        System.out.printf(
                "native KV probe: %d tokens cached natively (%d B of KV); heap bytes per"
                        + " 1-token step %d (logits only); Java-array path KV bytes per step"
                        + " %s; max |logit diff| %.2e; native calls per step %s (%d layers)%n",
                decoder.length(),
                decoder.lastKvBytes(),
                heapBytes.get(0),
                javaPathBytes,
                worst,
                callsPerStep,
                signature.layers());
        reference.release(id);
    }

    @Test
    void aFailedStatusBecomesAnExceptionWithOrtsMessage() throws Exception {
        onLargeStack(
                () -> {
                    OrtApiShim ort = OrtApiShim.fromOfficialRuntime();
                    assertThatThrownBy(() -> ort.failWith(2, "probe message"))
                            .isInstanceOf(OrtNativeException.class)
                            .hasMessageContaining("probe message")
                            .extracting(e -> ((OrtNativeException) e).code())
                            .isEqualTo(2);
                    DecoderSignature signature = DecoderSignature.read(BundledModels.target());
                    OrtEnvironment env = OrtEnvironment.getEnvironment();
                    try (OrtSession session =
                                    env.createSession(
                                            BundledModels.target().toString(),
                                            new OrtSession.SessionOptions());
                            NativeKvDecoder unused =
                                    new NativeKvDecoder(ort, session, signature, null)) {
                        Pointer binding = ort.createIoBinding(OrtApiShim.session(session));
                        Pointer info = ort.createCpuMemoryInfo();
                        try {
                            // ORT validates names when it runs: bind a wrong input name, run.
                            try (ai.onnxruntime.OnnxTensor ids =
                                    ai.onnxruntime.OnnxTensor.createTensor(
                                            env, new long[][] {{1L}})) {
                                assertThatThrownBy(
                                                () -> {
                                                    ort.bindInput(
                                                            binding,
                                                            "no_such_input",
                                                            OrtApiShim.value(ids));
                                                    ort.bindOutputToDevice(binding, "logits", info);
                                                    ort.runWithBinding(
                                                            OrtApiShim.session(session), binding);
                                                })
                                        .isInstanceOf(OrtNativeException.class)
                                        .hasMessageContaining("no_such_input")
                                        .satisfies(e -> System.out.println("ORT said: " + e));
                                ort.clearBoundInputs(binding);
                            }
                        } finally {
                            ort.releaseMemoryInfo(info);
                            ort.releaseIoBinding(binding);
                        }
                    }
                    return null;
                });
    }

    @Test
    void outputsBoundToCudaMemoryOnTheCpuProvider() throws Exception {
        onLargeStack(
                () -> {
                    OrtApiShim ort = OrtApiShim.fromOfficialRuntime();
                    DecoderSignature signature = DecoderSignature.read(BundledModels.target());
                    OrtEnvironment env = OrtEnvironment.getEnvironment();
                    try (OrtSession session =
                                    env.createSession(
                                            BundledModels.target().toString(),
                                            new OrtSession.SessionOptions());
                            NativeKvDecoder decoder =
                                    new NativeKvDecoder(ort, session, signature, "Cuda")) {
                        // Probe finding: a CPU-only session does not fail on outputs bound to
                        // "Cuda" memory; record where ORT actually put them.
                        String outcome;
                        try {
                            decoder.step(ByteTokens.of("abc"));
                            outcome = "ran; KV at " + decoder.kvLocation();
                        } catch (OrtNativeException e) {
                            outcome = "failed: " + e.getMessage();
                        }
                        System.out.println("outputs bound to Cuda on the CPU EP: " + outcome);
                        // So on a GPU, check kvLocation() is Cuda:0: the switch alone proves
                        // nothing.
                        assertThat(outcome).isEqualTo("ran; KV at Cpu:0");
                    }
                    return null;
                });
    }

    private static double assertClose(float[] actual, float[] expected, String where) {
        assertThat(actual.length).as(where).isEqualTo(expected.length);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as(where + " max |diff|").isLessThanOrEqualTo(TOLERANCE);
        return worst;
    }

    /**
     * ORT session creation overflows small native stacks (SIGSEGV): run on a 64 MiB stack, after
     * DJL has created ORT's environment.
     */
    static void onLargeStack(Callable<Void> task) throws Exception {
        // DJL's engine must create the OrtEnvironment (with its thread-pool options) first.
        onLargeStackAlone(
                () -> {
                    BundledModels.load(BundledModels.draft()).close();
                    return null;
                });
        onLargeStackAlone(task);
    }

    private static void onLargeStackAlone(Callable<Void> task) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread =
                new Thread(
                        null,
                        () -> {
                            try {
                                task.call();
                            } catch (Throwable t) {
                                failure.set(t);
                            }
                        },
                        "native-kv-probe",
                        64L << 20);
        thread.start();
        thread.join();
        Throwable t = failure.get();
        if (t instanceof Exception e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
    }
}
