package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Probe for new-position K/V caches (issue 12, docs/native-kv.md "What remains"), ONNX Runtime
 * 1.29's {@code com.microsoft.GroupQueryAttention} on the CPU provider with its past and present
 * caches bound to one buffer through IoBinding:
 *
 * <ul>
 *   <li>a batched prompt (right-padded, each row's length in {@code seqlens_k}) and batched
 *       one-token steps write the new keys and values into that buffer in place, and every row
 *       attends over its own length only (checked against attention computed here);
 *   <li>a batched pass of more than one token over a past, which is what verifying drafts is, is
 *       refused: the op takes such a pass for one sequence at a time.
 * </ul>
 */
class GroupQueryAttentionProbeTest {

    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int HEAD_DIM = 8;
    private static final int CAPACITY = 16;
    private static final int ROWS = 3;

    @Test
    void sharedBufferIsUpdatedInPlaceAndRowsAttendToTheirOwnLengths() throws Exception {
        NativeKvDecoderTest.onLargeStack(
                () -> {
                    probe();
                    return null;
                });
    }

    private static void probe() throws Exception {
        OrtApiShim ort = OrtApiShim.fromOfficialRuntime();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session =
                        OrtEnvironment.getEnvironment().createSession(graph(), options)) {
            Pointer cpu = ort.createCpuMemoryInfo();
            Pointer allocator = ort.defaultAllocator();
            Pointer binding = ort.createIoBinding(OrtApiShim.session(session));
            long cacheFloats = (long) ROWS * KV_HEADS * CAPACITY * HEAD_DIM;
            Memory keys = new Memory(cacheFloats * Float.BYTES);
            Memory values = new Memory(cacheFloats * Float.BYTES);
            keys.clear();
            values.clear();
            long[] cacheShape = {ROWS, KV_HEADS, CAPACITY, HEAD_DIM};
            Pointer keyCache =
                    ort.createTensorOver(
                            cpu, keys, cacheFloats * Float.BYTES, cacheShape, OrtApiShim.FLOAT);
            Pointer valueCache =
                    ort.createTensorOver(
                            cpu, values, cacheFloats * Float.BYTES, cacheShape, OrtApiShim.FLOAT);
            // The reference keeps every row's keys and values as a list of positions.
            List<List<float[][]>> refKeys = new ArrayList<>(); // [row][position][kvHead][dim]
            List<List<float[][]>> refValues = new ArrayList<>();
            for (int r = 0; r < ROWS; r++) {
                refKeys.add(new ArrayList<>());
                refValues.add(new ArrayList<>());
            }
            SplittableRandom random = new SplittableRandom(4);
            // A right-padded prompt, then one-token steps. New tokens per row.
            int[][] passes = {{3, 2, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
            int checked = 0;
            for (int[] fresh : passes) {
                int s = 0;
                for (int t : fresh) {
                    s = Math.max(s, t);
                }
                float[] q = new float[ROWS * s * HEADS * HEAD_DIM]; // [rows][s][heads * dim]
                float[] k = new float[ROWS * s * KV_HEADS * HEAD_DIM]; // [rows][s][kvHeads * dim]
                float[] v = new float[k.length];
                int[] seqlens = new int[ROWS];
                int total = 0;
                for (int r = 0; r < ROWS; r++) {
                    int past = refKeys.get(r).size();
                    for (int i = 0; i < s; i++) {
                        for (int x = 0; x < HEADS * HEAD_DIM; x++) {
                            q[(r * s + i) * HEADS * HEAD_DIM + x] = (float) random.nextGaussian();
                        }
                        float[][] key = new float[KV_HEADS][HEAD_DIM];
                        float[][] value = new float[KV_HEADS][HEAD_DIM];
                        for (int h = 0; h < KV_HEADS; h++) {
                            for (int d = 0; d < HEAD_DIM; d++) {
                                key[h][d] = (float) random.nextGaussian();
                                value[h][d] = (float) random.nextGaussian();
                                int at = ((r * s + i) * KV_HEADS + h) * HEAD_DIM + d;
                                k[at] = key[h][d];
                                v[at] = value[h][d];
                            }
                        }
                        if (i < fresh[r]) {
                            refKeys.get(r).add(key);
                            refValues.get(r).add(value);
                        }
                    }
                    // Index of the row's last real token: a prompt's padding follows its tokens.
                    seqlens[r] = past == 0 ? fresh[r] - 1 : past + s - 1;
                    total = Math.max(total, past + s);
                }
                List<Memory> keep = new ArrayList<>();
                List<Pointer> inputs =
                        bind(
                                ort,
                                binding,
                                cpu,
                                s,
                                q,
                                k,
                                v,
                                seqlens,
                                total,
                                keyCache,
                                valueCache,
                                keep);
                ort.runWithBinding(OrtApiShim.session(session), binding);
                Pointer[] outputs = ort.boundOutputValues(binding, allocator);
                float[] out = new float[ROWS * s * HEADS * HEAD_DIM];
                ort.tensorData(outputs[0]).read(0, out, 0, out.length);
                // The caches came back as the same memory, holding every real position so far.
                assertThat(Pointer.nativeValue(ort.tensorData(outputs[1])))
                        .isEqualTo(Pointer.nativeValue(keys));
                for (int r = 0; r < ROWS; r++) {
                    for (int p = 0; p < refKeys.get(r).size(); p++) {
                        for (int h = 0; h < KV_HEADS; h++) {
                            long at = (((long) r * KV_HEADS + h) * CAPACITY + p) * HEAD_DIM;
                            float[] stored = keys.getFloatArray(at * Float.BYTES, HEAD_DIM);
                            assertThat(stored).containsExactly(refKeys.get(r).get(p)[h]);
                        }
                    }
                }
                // Each real new token attends causally over its own row only.
                for (int r = 0; r < ROWS; r++) {
                    int length = refKeys.get(r).size();
                    for (int i = 0; i < fresh[r]; i++) {
                        int position = length - fresh[r] + i;
                        for (int h = 0; h < HEADS; h++) {
                            float[] expected =
                                    attend(
                                            q,
                                            r,
                                            s,
                                            i,
                                            h,
                                            refKeys.get(r),
                                            refValues.get(r),
                                            position);
                            for (int d = 0; d < HEAD_DIM; d++) {
                                float actual = out[((r * s + i) * HEADS + h) * HEAD_DIM + d];
                                assertThat((double) actual)
                                        .as(
                                                "pass %s row %d token %d head %d",
                                                java.util.Arrays.toString(fresh), r, i, h)
                                        .isCloseTo(
                                                expected[d],
                                                org.assertj.core.data.Offset.offset(1e-4));
                            }
                            checked++;
                        }
                    }
                }
                for (Pointer p : outputs) {
                    if (p != keyCache && p != valueCache) {
                        ort.releaseValue(p);
                    }
                }
                ort.clearBoundInputs(binding);
                for (Pointer p : inputs) {
                    ort.releaseValue(p);
                }
            }
            assertThat(checked).isGreaterThan(40);
            // Two new tokens per row over a past, batched: refused.
            int s = 2;
            int[] seqlens = new int[ROWS];
            for (int r = 0; r < ROWS; r++) {
                seqlens[r] = refKeys.get(r).size() + s - 1;
            }
            List<Memory> keep = new ArrayList<>();
            List<Pointer> inputs =
                    bind(
                            ort,
                            binding,
                            cpu,
                            s,
                            new float[ROWS * s * HEADS * HEAD_DIM],
                            new float[ROWS * s * KV_HEADS * HEAD_DIM],
                            new float[ROWS * s * KV_HEADS * HEAD_DIM],
                            seqlens,
                            refKeys.get(0).size() + s,
                            keyCache,
                            valueCache,
                            keep);
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> ort.runWithBinding(OrtApiShim.session(session), binding))
                    .hasMessageContaining("batch_size must be 1 when sequence_length > 1");
            ort.clearBoundInputs(binding);
            for (Pointer p : inputs) {
                ort.releaseValue(p);
            }
            ort.releaseIoBinding(binding);
        }
    }

    /**
     * Binds one pass: query, key, value {@code [rows][s][heads * dim]}, {@code seqlens_k}, {@code
     * total_sequence_length}, and the caches as both past and present. Returns the host inputs to
     * release after the run; {@code keep} holds their memory until then.
     */
    private static List<Pointer> bind(
            OrtApiShim ort,
            Pointer binding,
            Pointer cpu,
            int s,
            float[] q,
            float[] k,
            float[] v,
            int[] seqlens,
            int total,
            Pointer keyCache,
            Pointer valueCache,
            List<Memory> keep) {
        List<Pointer> inputs = new ArrayList<>();
        inputs.add(floats(ort, cpu, q, new long[] {ROWS, s, HEADS * HEAD_DIM}, keep));
        inputs.add(floats(ort, cpu, k, new long[] {ROWS, s, KV_HEADS * HEAD_DIM}, keep));
        inputs.add(floats(ort, cpu, v, new long[] {ROWS, s, KV_HEADS * HEAD_DIM}, keep));
        inputs.add(ints(ort, cpu, seqlens, new long[] {ROWS}, keep));
        inputs.add(ints(ort, cpu, new int[] {total}, new long[] {}, keep));
        String[] names = {"query", "key", "value", "seqlens_k", "total_sequence_length"};
        for (int i = 0; i < names.length; i++) {
            ort.bindInput(binding, names[i], inputs.get(i));
        }
        ort.bindInput(binding, "past_key", keyCache);
        ort.bindInput(binding, "past_value", valueCache);
        ort.clearBoundOutputs(binding);
        ort.bindOutputToDevice(binding, "output", cpu);
        ort.bindOutput(binding, "present_key", keyCache);
        ort.bindOutput(binding, "present_value", valueCache);
        return inputs;
    }

    /** Scaled dot-product attention of query token {@code i} (head {@code h}) over 0..position. */
    private static float[] attend(
            float[] q,
            int r,
            int s,
            int i,
            int h,
            List<float[][]> keys,
            List<float[][]> values,
            int position) {
        int kvHead = h / (HEADS / KV_HEADS);
        double[] scores = new double[position + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p <= position; p++) {
            double dot = 0;
            for (int d = 0; d < HEAD_DIM; d++) {
                dot += q[((r * s + i) * HEADS + h) * HEAD_DIM + d] * keys.get(p)[kvHead][d];
            }
            scores[p] = dot / Math.sqrt(HEAD_DIM);
            max = Math.max(max, scores[p]);
        }
        double sum = 0;
        for (int p = 0; p <= position; p++) {
            scores[p] = Math.exp(scores[p] - max);
            sum += scores[p];
        }
        float[] out = new float[HEAD_DIM];
        for (int d = 0; d < HEAD_DIM; d++) {
            double acc = 0;
            for (int p = 0; p <= position; p++) {
                acc += scores[p] / sum * values.get(p)[kvHead][d];
            }
            out[d] = (float) acc;
        }
        return out;
    }

    private static Pointer floats(
            OrtApiShim ort, Pointer cpu, float[] data, long[] shape, List<Memory> keep) {
        Memory m = memory(data.length, keep);
        m.write(0, data, 0, data.length);
        return ort.createTensorOver(cpu, m, m.size(), shape, OrtApiShim.FLOAT);
    }

    private static Pointer ints(
            OrtApiShim ort, Pointer cpu, int[] data, long[] shape, List<Memory> keep) {
        Memory m = memory(data.length, keep);
        m.write(0, data, 0, data.length);
        return ort.createTensorOver(cpu, m, m.size(), shape, OrtApiShim.INT32);
    }

    /** Room for {@code n} 4-byte elements, kept reachable while the values over it are used. */
    private static Memory memory(int n, List<Memory> keep) {
        Memory m = new Memory(Math.max(1, n) * 4L);
        keep.add(m);
        return m;
    }

    private static byte[] graph() {
        OnnxMl.NodeProto.Builder node =
                OnnxMl.NodeProto.newBuilder()
                        .setOpType("GroupQueryAttention")
                        .setDomain("com.microsoft")
                        .setName("gqa");
        for (String in :
                new String[] {
                    "query",
                    "key",
                    "value",
                    "past_key",
                    "past_value",
                    "seqlens_k",
                    "total_sequence_length"
                }) {
            node.addInput(in);
        }
        node.addOutput("output").addOutput("present_key").addOutput("present_value");
        node.addAttribute(OnnxGraphs.intAttribute("num_heads", HEADS))
                .addAttribute(OnnxGraphs.intAttribute("kv_num_heads", KV_HEADS));
        OnnxMl.GraphProto.Builder graph =
                OnnxMl.GraphProto.newBuilder()
                        .setName("gqa_probe")
                        .addNode(node)
                        .addInput(OnnxGraphs.value("query", DataType.FLOAT, "b", "s", "qh"))
                        .addInput(OnnxGraphs.value("key", DataType.FLOAT, "b", "s", "kh"))
                        .addInput(OnnxGraphs.value("value", DataType.FLOAT, "b", "s", "kh"))
                        .addInput(OnnxGraphs.value("past_key", DataType.FLOAT, "b", "n", "c", "d"))
                        .addInput(
                                OnnxGraphs.value("past_value", DataType.FLOAT, "b", "n", "c", "d"))
                        .addInput(OnnxGraphs.value("seqlens_k", DataType.INT32, "b"))
                        .addInput(OnnxGraphs.value("total_sequence_length", DataType.INT32))
                        .addOutput(OnnxGraphs.value("output", DataType.FLOAT, "b", "s", "qh"))
                        .addOutput(
                                OnnxGraphs.value("present_key", DataType.FLOAT, "b", "n", "c", "d"))
                        .addOutput(
                                OnnxGraphs.value(
                                        "present_value", DataType.FLOAT, "b", "n", "c", "d"));
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("tetris-flink")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
                .addOpsetImport(
                        OnnxMl.OperatorSetIdProto.newBuilder()
                                .setDomain("com.microsoft")
                                .setVersion(1))
                .setGraph(graph)
                .build()
                .toByteArray();
    }
}
