package io.tetris.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtException;
import io.tetris.core.LogitsTransform;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link OnnxLanguageModel} with the caches on the Java heap ({@link
 * OnnxModelOptions.KvCacheMode#HEAP}), run through DJL: the previous engine, kept as the reference
 * the resident one is tested and benchmarked against, and selectable by users.
 *
 * <p>A round batches sequences with different cached lengths {@code P_i} and different numbers of
 * new tokens {@code T_i}. Each batch row is laid out {@code [pad][past P_i][pad][new T_i]}: the
 * past tensor is left-padded to the longest past, the new tokens are left-padded to the longest
 * extension, the attention mask hides both paddings, and position ids continue each sequence from
 * {@code P_i}. Only the new positions of each {@code present} output are copied back into the
 * sequence's cache.
 */
public final class HeapKvModel implements OnnxLanguageModel {

    private final Path file;
    private final DecoderSignature signature;
    private final OnnxModelOptions options;
    private final Model model;
    private final Predictor<NDList, NDList> predictor;

    /** Logits width; read from the first forward pass when the graph leaves it dynamic. */
    private int vocab;

    private final Map<String, KvCache> caches = new HashMap<>();

    private final ModelTraffic heapTraffic = new ModelTraffic();

    private HeapKvModel(
            Path file, DecoderSignature signature, OnnxModelOptions options, Model model) {
        this.file = file;
        this.signature = signature;
        this.options = options;
        this.model = model;
        this.predictor = model.newPredictor(new NoopTranslator());
        this.vocab = signature.vocab();
    }

    static HeapKvModel open(Path onnxFile, DecoderSignature signature, OnnxModelOptions options) {
        if (signature.kvType() != DataType.FLOAT
                || signature.logitsType() != DataType.FLOAT
                || signature.useCacheBranch()) {
            throw new IllegalArgumentException(
                    "ONNX model "
                            + onnxFile
                            + (signature.useCacheBranch()
                                    ? " is a merged decoder (use_cache_branch)"
                                    : " has "
                                            + signature.kvType()
                                            + " caches and "
                                            + signature.logitsType()
                                            + " logits")
                            + ", which only native caches run; set tetris.model.kv-cache to"
                            + " native (the default) instead of heap");
        }
        Model model = Model.newInstance(fileStem(onnxFile), Device.cpu(), "OnnxRuntime");
        try {
            model.load(
                    onnxFile.toAbsolutePath().getParent(),
                    fileStem(onnxFile),
                    Map.of("sessionOptions", OnnxModels.sessionOptions(options)));
        } catch (IOException | MalformedModelException | OrtException e) {
            model.close();
            throw new IllegalArgumentException(
                    "cannot load ONNX model " + onnxFile + ": " + e.getMessage(), e);
        }
        HeapKvModel loaded = new HeapKvModel(onnxFile, signature, options, model);
        if (loaded.vocab <= 0) {
            loaded.vocab = OnnxModels.probeVocab(loaded);
        }
        return loaded;
    }

    @Override
    public ModelTraffic traffic() {
        return heapTraffic;
    }

    @Override
    public boolean writesCachesInPlace() {
        return false;
    }

    @Override
    public String kvCacheDescription() {
        return "on the Java heap";
    }

    @Override
    public String cacheLocation() {
        return "heap";
    }

    @Override
    public OnnxModelOptions options() {
        return options;
    }

    @Override
    public DecoderSignature signature() {
        return signature;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public NextTokens[] next(List<Extension> batch) {
        float[][][] logits = extendLogits(batch);
        NextTokens[] next = new NextTokens[batch.size()];
        for (int b = 0; b < next.length; b++) {
            float[][] rows = logits[b];
            if (!batch.get(b).greedy()) {
                for (int j = 0; j < rows.length; j++) {
                    rows[j] = LogitsTransform.logSoftmax(rows[j]);
                }
                next[b] = NextTokens.full(rows);
                continue;
            }
            int[] argmax = new int[rows.length];
            float[] best = new float[rows.length];
            float[] second = new float[rows.length];
            for (int j = 0; j < rows.length; j++) {
                argmax[j] = LogitsTransform.argmax(rows[j]);
                double logZ = LogitsTransform.logSumExp(rows[j]);
                best[j] = (float) (rows[j][argmax[j]] - logZ);
                second[j] = (float) (NextTokens.runnerUp(rows[j], argmax[j]) - logZ);
            }
            next[b] = new NextTokens(null, argmax, best, second);
        }
        return next;
    }

    /**
     * The raw {@code logits} output, {@code [batch][tokens_i][vocab]}, as the graph computes them;
     * the reference the native path is tested against (native caches keep the logits where they
     * were computed).
     */
    public float[][][] extendLogits(List<Extension> batch) {
        List<Integer> rows = OnnxModels.checkContext(this, batch);
        float[][][] result = new float[batch.size()][][];
        int maxPast = 0;
        int maxNew = 0;
        for (int b = 0; b < batch.size(); b++) {
            Extension e = batch.get(b);
            if (e.tokens().length == 0) {
                result[b] = new float[0][];
                continue;
            }
            maxPast = Math.max(maxPast, cachedLength(e.sequenceId()));
            maxNew = Math.max(maxNew, e.tokens().length);
        }
        if (rows.isEmpty()) {
            return result;
        }
        long started = System.nanoTime();
        try {
            run(batch, rows, maxPast, maxNew, result);
        } finally {
            heapTraffic.totalNanos += System.nanoTime() - started;
        }
        return result;
    }

    private void run(
            List<Extension> batch, List<Integer> rows, int maxPast, int maxNew, float[][][] out) {
        int n = rows.size();
        int width = maxPast + maxNew;
        long[] inputIds = new long[n * maxNew]; // [n][maxNew]
        long[] positionIds = new long[n * maxNew]; // [n][maxNew]
        long[] mask = new long[n * width]; // [n][maxPast + maxNew]
        List<KvCache> rowCaches = new ArrayList<>(n);
        for (int r = 0; r < n; r++) {
            Extension e = batch.get(rows.get(r));
            KvCache cache =
                    caches.computeIfAbsent(
                            e.sequenceId(),
                            id ->
                                    new KvCache(
                                            signature.layers(),
                                            signature.kvHeads(),
                                            signature.headDim()));
            rowCaches.add(cache);
            int past = cache.length();
            int t = e.tokens().length;
            for (int j = 0; j < t; j++) {
                int col = maxNew - t + j;
                inputIds[r * maxNew + col] = e.tokens()[j];
                positionIds[r * maxNew + col] = past + j;
            }
            for (int j = maxPast - past; j < maxPast; j++) {
                mask[r * width + j] = 1;
            }
            for (int j = width - t; j < width; j++) {
                mask[r * width + j] = 1;
            }
        }
        try (NDManager manager = model.getNDManager().newSubManager()) {
            NDList inputs = new NDList();
            inputs.add(
                    named(
                            manager.create(LongBuffer.wrap(inputIds), new Shape(n, maxNew)),
                            DecoderSignature.INPUT_IDS));
            inputs.add(
                    named(
                            manager.create(LongBuffer.wrap(mask), new Shape(n, width)),
                            DecoderSignature.ATTENTION_MASK));
            if (signature.positionIds()) {
                inputs.add(
                        named(
                                manager.create(LongBuffer.wrap(positionIds), new Shape(n, maxNew)),
                                DecoderSignature.POSITION_IDS));
            }
            Shape pastShape = new Shape(n, signature.kvHeads(), maxPast, signature.headDim());
            int pastSize = n * signature.kvHeads() * maxPast * signature.headDim();
            for (int l = 0; l < signature.layers(); l++) {
                for (boolean key : new boolean[] {true, false}) {
                    float[] past = new float[pastSize]; // [n][heads][maxPast][headDim]
                    for (int r = 0; r < n; r++) {
                        rowCaches.get(r).copyInto(l, key, past, r, maxPast);
                    }
                    String name = key ? DecoderSignature.pastKey(l) : DecoderSignature.pastValue(l);
                    inputs.add(named(manager.create(FloatBuffer.wrap(past), pastShape), name));
                }
            }
            long t0 = System.nanoTime();
            Map<String, NDArray> outputs = byName(predictor.predict(inputs));
            heapTraffic.modelNanos += System.nanoTime() - t0;
            heapTraffic.runs++;
            heapTraffic.tokenBytesIn += 8L * (inputIds.length + mask.length + positionIds.length);
            heapTraffic.maskBytesIn += 8L * mask.length;
            float[] logits =
                    output(outputs, DecoderSignature.LOGITS).toFloatArray(); // [n][maxNew][V]
            heapTraffic.logitBytesOut += 4L * logits.length;
            vocab = logits.length / (n * maxNew);
            for (int r = 0; r < n; r++) {
                Extension e = batch.get(rows.get(r));
                int t = e.tokens().length;
                float[][] rowOut = new float[e.returned()][];
                for (int j = t - e.returned(); j < t; j++) {
                    int from = (r * maxNew + maxNew - t + j) * vocab;
                    rowOut[j - (t - e.returned())] =
                            java.util.Arrays.copyOfRange(logits, from, from + vocab);
                }
                out[rows.get(r)] = rowOut;
            }
            for (int l = 0; l < signature.layers(); l++) {
                float[] key = output(outputs, DecoderSignature.presentKey(l)).toFloatArray();
                float[] value = output(outputs, DecoderSignature.presentValue(l)).toFloatArray();
                heapTraffic.kvBytesCrossed += 4L * (key.length + value.length + 2L * pastSize);
                for (int r = 0; r < n; r++) {
                    int t = batch.get(rows.get(r)).tokens().length;
                    rowCaches.get(r).append(l, key, value, r, width, width - t, t);
                }
            }
        } catch (TranslateException e) {
            throw new IllegalStateException(
                    "forward pass of " + file + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public int cachedLength(String sequenceId) {
        KvCache cache = caches.get(sequenceId);
        return cache == null ? 0 : cache.length();
    }

    @Override
    public void truncate(String sequenceId, int length) {
        KvCache cache = caches.get(sequenceId);
        if (cache == null) {
            if (length != 0) {
                throw new IllegalArgumentException("no cache for sequence " + sequenceId);
            }
            return;
        }
        cache.truncate(length);
    }

    @Override
    public void release(String sequenceId) {
        caches.remove(sequenceId);
    }

    @Override
    public int sequences() {
        return caches.size();
    }

    @Override
    public long cacheBytes() {
        long total = 0;
        for (KvCache cache : caches.values()) {
            total += cache.bytes();
        }
        return total;
    }

    @Override
    public void close() {
        caches.clear();
        predictor.close();
        model.close();
    }

    private static NDArray named(NDArray array, String name) {
        array.setName(name);
        return array;
    }

    private static Map<String, NDArray> byName(NDList list) {
        Map<String, NDArray> out = new HashMap<>();
        for (NDArray a : list) {
            out.put(a.getName(), a);
        }
        return out;
    }

    private NDArray output(Map<String, NDArray> outputs, String name) {
        NDArray a = outputs.get(name);
        if (a == null) {
            throw new IllegalStateException(file + " produced no output " + name);
        }
        return a;
    }

    private static String fileStem(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(".onnx") ? name.substring(0, name.length() - 5) : name;
    }
}
