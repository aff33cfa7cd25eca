package io.tetris.model.ortnative;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Probe: one sequence (batch 1) of an Optimum-style decoder run through IoBinding, with the KV
 * cache kept as native {@code OrtValue}s between steps: each step's {@code present.N.key/value}
 * outputs are bound as the next step's {@code past_key_values.N.key/value} inputs without ever
 * being copied to the Java heap. Only the {@code logits} are read back.
 *
 * <p>Outputs are re-bound every step ({@code ClearBoundOutputs} + {@code BindOutputToDevice}): an
 * output bound once stays bound as a pre-allocated value of the previous step's shape, which a
 * growing {@code present} no longer fits. Inputs are cleared after each run so the binding never
 * outlives the small host tensors (ids, mask, positions) it points at.
 *
 * <p>Not thread-safe; the session must have been created on a large-stack thread (see {@code
 * OnnxLanguageModel.load}). Test code: the first proof that caches can stay native, kept as the
 * reference the resident batch grew from.
 */
public final class NativeKvDecoder implements AutoCloseable {

    private final OrtApiShim ort;
    private final OrtEnvironment env;
    private final DecoderSignature signature;
    private final Pointer session;
    private final Pointer binding;
    private final Pointer cpuInfo;
    private final Pointer kvInfo;
    private final Pointer allocator;

    /** {@code 2 * layers} native values (key, value per layer); null before the first step. */
    private Pointer[] past;

    private int length;
    private long lastHeapBytes;
    private long lastKvBytes;

    /**
     * @param kvDevice memory for the KV outputs: {@code null} for CPU, or an ORT memory-info name
     *     such as {@code "Cuda"} (device 0) when the session runs on that execution provider
     */
    public NativeKvDecoder(
            OrtApiShim ort, OrtSession session, DecoderSignature signature, String kvDevice) {
        this.ort = ort;
        this.env = OrtEnvironment.getEnvironment();
        this.signature = signature;
        this.session = OrtApiShim.session(session);
        this.cpuInfo = ort.createCpuMemoryInfo();
        Pointer kv = null;
        Pointer io = null;
        try {
            kv =
                    kvDevice == null
                            ? null
                            : ort.createMemoryInfo(kvDevice, OrtApiShim.DEVICE_ALLOCATOR, 0);
            this.allocator = ort.defaultAllocator();
            io = ort.createIoBinding(this.session);
        } catch (RuntimeException e) {
            ort.releaseMemoryInfo(kv);
            ort.releaseMemoryInfo(cpuInfo);
            throw e;
        }
        this.kvInfo = kv;
        this.binding = io;
    }

    /** Tokens in the native cache. */
    public int length() {
        return length;
    }

    /** Bytes the last step copied from native memory to the Java heap (the logits only). */
    public long lastHeapBytes() {
        return lastHeapBytes;
    }

    /** Bytes of the native KV cache after the last step (never copied to the heap). */
    public long lastKvBytes() {
        return lastKvBytes;
    }

    /** Where the cache's first tensor lives ({@link OrtApiShim#location}); null before a step. */
    public String kvLocation() {
        return past == null ? null : ort.location(past[0]);
    }

    /** The native {@code OrtValue*}s now holding the cache, key/value per layer (for tests). */
    public Pointer[] pastValues() {
        return past == null ? new Pointer[0] : past.clone();
    }

    /**
     * Runs {@code tokens} after the cached ones; returns the raw logits, {@code [tokens][vocab]}.
     */
    public float[][] step(int[] tokens) {
        int t = tokens.length;
        if (t == 0) {
            return new float[0][];
        }
        int width = length + t;
        long[][] ids = new long[1][t];
        long[][] positions = new long[1][t];
        long[][] mask = new long[1][width];
        for (int j = 0; j < t; j++) {
            ids[0][j] = tokens[j];
            positions[0][j] = length + j;
        }
        java.util.Arrays.fill(mask[0], 1L);
        List<OnnxTensor> host = new ArrayList<>();
        Pointer[] outputs = null;
        try {
            host.add(OnnxTensor.createTensor(env, ids));
            ort.bindInput(
                    binding,
                    DecoderSignature.INPUT_IDS,
                    OrtApiShim.value(host.get(host.size() - 1)));
            host.add(OnnxTensor.createTensor(env, mask));
            ort.bindInput(
                    binding,
                    DecoderSignature.ATTENTION_MASK,
                    OrtApiShim.value(host.get(host.size() - 1)));
            if (signature.positionIds()) {
                host.add(OnnxTensor.createTensor(env, positions));
                ort.bindInput(
                        binding,
                        DecoderSignature.POSITION_IDS,
                        OrtApiShim.value(host.get(host.size() - 1)));
            }
            Pointer empty = null;
            if (past == null) {
                host.add(
                        OnnxTensor.createTensor(
                                env,
                                FloatBuffer.allocate(0),
                                new long[] {1, signature.kvHeads(), 0, signature.headDim()}));
                empty = OrtApiShim.value(host.get(host.size() - 1));
            }
            for (int l = 0; l < signature.layers(); l++) {
                ort.bindInput(
                        binding, DecoderSignature.pastKey(l), past == null ? empty : past[2 * l]);
                ort.bindInput(
                        binding,
                        DecoderSignature.pastValue(l),
                        past == null ? empty : past[2 * l + 1]);
            }
            ort.clearBoundOutputs(binding);
            ort.bindOutputToDevice(binding, DecoderSignature.LOGITS, cpuInfo);
            Pointer kv = kvInfo == null ? cpuInfo : kvInfo;
            for (int l = 0; l < signature.layers(); l++) {
                ort.bindOutputToDevice(binding, DecoderSignature.presentKey(l), kv);
                ort.bindOutputToDevice(binding, DecoderSignature.presentValue(l), kv);
            }
            ort.runWithBinding(session, binding);
            outputs = ort.boundOutputValues(binding, allocator);
            if (outputs.length != 1 + 2 * signature.layers()) {
                throw new IllegalStateException(
                        "expected "
                                + (1 + 2 * signature.layers())
                                + " outputs, got "
                                + outputs.length);
            }
            long[] shape = ort.shape(outputs[0]); // [1][t][vocab]
            int vocab = Math.toIntExact(shape[2]);
            float[] flat = ort.tensorData(outputs[0]).getFloatArray(0, t * vocab);
            lastHeapBytes = 4L * flat.length;
            float[][] logits = new float[t][];
            for (int j = 0; j < t; j++) {
                logits[j] = java.util.Arrays.copyOfRange(flat, j * vocab, (j + 1) * vocab);
            }
            Pointer[] next = java.util.Arrays.copyOfRange(outputs, 1, outputs.length);
            long[] kvShape = ort.shape(next[0]); // [1][heads][width][headDim]
            lastKvBytes = 4L * next.length * kvShape[0] * kvShape[1] * kvShape[2] * kvShape[3];
            ort.releaseValue(outputs[0]);
            outputs = null;
            releasePast();
            past = next;
            length = width;
            return logits;
        } catch (OrtException e) {
            throw new IllegalStateException("cannot create input tensors: " + e.getMessage(), e);
        } finally {
            if (outputs != null) {
                for (Pointer p : outputs) {
                    ort.releaseValue(p);
                }
            }
            ort.clearBoundInputs(binding);
            for (OnnxTensor tensor : host) {
                tensor.close();
            }
        }
    }

    private void releasePast() {
        if (past != null) {
            for (Pointer p : past) {
                ort.releaseValue(p);
            }
            past = null;
        }
    }

    @Override
    public void close() {
        releasePast();
        ort.releaseIoBinding(binding);
        ort.releaseMemoryInfo(kvInfo);
        ort.releaseMemoryInfo(cpuInfo);
    }
}
