package io.tetris.model.ortnative;

import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.ModelTraffic;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The KV caches of many sequences kept resident where the model runs, as one batch: per layer one
 * key and one value tensor {@code [rows][kvHeads][width][headDim]}, owned by ONNX Runtime. Each run
 * binds them as {@code past_key_values.*} through IoBinding and keeps the run's {@code present.*}
 * outputs as the next batch, so a cache is never copied to the Java heap, and a draft step chained
 * after another moves nothing but token ids in and logits out.
 *
 * <p>Every sequence owns a row. Its cached tokens are the columns listed for it, in order; any
 * other column of its row is a hole that the attention mask hides. Holes appear where a rollback
 * drops tokens ({@link #truncate} only shortens the list), where a row has fewer new tokens than
 * the longest in the run (the new tokens are left-padded, as in the heap path), and in rows whose
 * sequence is not in a run. Position ids carry each token's place in its sequence, so a hole
 * changes nothing but the amount of attention work. When holes would make the batch much wider than
 * its longest sequence, or rows must be added or dropped, {@link KvGather} packs each row's cached
 * columns to the left, on the model's own device: amortised over the runs between two compactions
 * this is a constant amount of work per token, whatever the context length.
 *
 * <p>Works for any Optimum-style decoder (full {@code present} outputs). Holes must hold finite
 * values, since masked attention weights are zero and {@code 0 * NaN} is not: they always do,
 * because every column was computed by a run or copied from a computed column.
 *
 * <p>Not thread-safe, like the model that owns it.
 */
public final class ResidentKvBatch implements AutoCloseable {

    /** Wider than this factor of the longest sequence (plus {@link #SLACK}) triggers compaction. */
    private static final double MAX_WIDTH_FACTOR = 1.5;

    private static final int SLACK = 32;

    private final OrtApiShim ort;
    private final DecoderSignature signature;
    private final Pointer session;
    private final Pointer binding;
    private final Pointer cpuInfo;
    private final Pointer deviceInfo; // null: the caches live in CPU memory
    private final Pointer allocator;
    private final KvGather gather;
    private final String[] pastNames; // [2 * layers] key, value per layer
    private final String[] presentNames; // [2 * layers]

    private Pointer[] kv; // [2 * layers] values [rows][heads][width][headDim]; null when width == 0
    private Pointer[] kvOwners; // [2 * layers] gather outputs that kv views; null entries if none
    private int rows;
    private int width;
    private String[] ids = new String[0]; // [rows], null for a free row
    private int[] lengths = new int[0]; // [rows] cached tokens
    private int[][] columns = new int[0][]; // [rows][>= length] column of each cached token
    private final Map<String, Integer> rowOf = new HashMap<>();

    private Memory idsBuffer;
    private Memory positionsBuffer;
    private Memory maskBuffer;
    private Memory indexBuffer;

    private final ModelTraffic traffic = new ModelTraffic();

    /**
     * @param session the model's session (created on a large-stack thread)
     * @param sessionOptions the model's options, reused for the compaction graph
     * @param kvDevice ORT memory-info name for the caches ({@code "Cuda"}), or null for CPU memory
     * @param deviceId the device index for {@code kvDevice}
     */
    public ResidentKvBatch(
            OrtApiShim ort,
            OrtSession session,
            OrtSession.SessionOptions sessionOptions,
            DecoderSignature signature,
            String kvDevice,
            int deviceId) {
        this.ort = ort;
        this.signature = signature;
        this.session = OrtApiShim.session(session);
        this.cpuInfo = ort.createCpuMemoryInfo();
        this.allocator = ort.defaultAllocator();
        this.deviceInfo =
                kvDevice == null
                        ? null
                        : ort.createMemoryInfo(kvDevice, OrtApiShim.DEVICE_ALLOCATOR, deviceId);
        this.binding = ort.createIoBinding(this.session);
        this.gather = KvGather.create(ort, sessionOptions);
        int layers = signature.layers();
        pastNames = new String[2 * layers];
        presentNames = new String[2 * layers];
        for (int l = 0; l < layers; l++) {
            pastNames[2 * l] = "past_key_values." + l + ".key";
            pastNames[2 * l + 1] = "past_key_values." + l + ".value";
            presentNames[2 * l] = "present." + l + ".key";
            presentNames[2 * l + 1] = "present." + l + ".value";
        }
    }

    /** Counters since creation (live object; copy it to take a snapshot). */
    public ModelTraffic traffic() {
        return traffic;
    }

    /**
     * Appends each extension's tokens to its sequence's cache and returns the raw logits, {@code
     * [batch][tokens_i][vocab]} (an empty array for an extension without tokens).
     */
    public float[][][] extend(List<Extension> batch) {
        long started = System.nanoTime();
        try {
            return extendHere(batch);
        } finally {
            traffic.totalNanos += System.nanoTime() - started;
        }
    }

    private float[][][] extendHere(List<Extension> batch) {
        int n = batch.size();
        float[][][] out = new float[n][][];
        int newTokens = 0;
        List<String> fresh = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int b = 0; b < n; b++) {
            Extension e = batch.get(b);
            if (e.tokens().length == 0) {
                out[b] = new float[0][];
                continue;
            }
            if (!seen.add(e.sequenceId())) {
                throw new IllegalArgumentException(
                        "sequence " + e.sequenceId() + " appears twice in one batch");
            }
            if (!rowOf.containsKey(e.sequenceId())) {
                fresh.add(e.sequenceId());
            }
            newTokens = Math.max(newTokens, e.tokens().length);
        }
        if (newTokens == 0) {
            return out;
        }
        prepare(fresh, newTokens);
        run(batch, newTokens, out);
        return out;
    }

    /** Gives every new sequence a row, compacting or resizing the batch first when it should. */
    private void prepare(List<String> fresh, int newTokens) {
        int live = rowOf.size();
        int needed = live + fresh.size();
        int longest = 0;
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                longest = Math.max(longest, lengths[r]);
            }
        }
        boolean grow = needed > rows;
        boolean shrink = rows - needed > Math.max(1, needed / 4);
        boolean wide = width + newTokens > MAX_WIDTH_FACTOR * (longest + newTokens) + SLACK;
        if (grow || shrink || wide) {
            relayout(needed, longest);
        }
        int r = 0;
        for (String id : fresh) {
            while (ids[r] != null) {
                r++;
            }
            ids[r] = id;
            lengths[r] = 0;
            rowOf.put(id, r);
        }
    }

    private void run(List<Extension> batch, int newTokens, float[][][] out) {
        int total = width + newTokens;
        long[] inputIds = new long[rows * newTokens]; // [rows][newTokens]
        long[] positions = new long[rows * newTokens]; // [rows][newTokens]
        long[] mask = new long[rows * total]; // [rows][width + newTokens]
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                for (int i = 0; i < lengths[r]; i++) {
                    mask[r * total + columns[r][i]] = 1;
                }
            }
        }
        for (Extension e : batch) {
            int t = e.tokens().length;
            if (t == 0) {
                continue;
            }
            int r = rowOf.get(e.sequenceId());
            for (int j = 0; j < t; j++) {
                int col = newTokens - t + j;
                inputIds[r * newTokens + col] = e.tokens()[j];
                positions[r * newTokens + col] = lengths[r] + j;
                mask[r * total + width + col] = 1;
            }
        }
        idsBuffer = fill(idsBuffer, inputIds);
        positionsBuffer = fill(positionsBuffer, positions);
        maskBuffer = fill(maskBuffer, mask);
        List<Pointer> inputs = new ArrayList<>();
        Pointer[] outputs = null;
        try {
            long[] tokenShape = {rows, newTokens};
            inputs.add(tensorOver(idsBuffer, tokenShape));
            ort.bindInput(binding, "input_ids", last(inputs));
            inputs.add(tensorOver(maskBuffer, new long[] {rows, total}));
            ort.bindInput(binding, "attention_mask", last(inputs));
            if (signature.positionIds()) {
                inputs.add(tensorOver(positionsBuffer, tokenShape));
                ort.bindInput(binding, "position_ids", last(inputs));
            }
            Pointer empty = null;
            if (kv == null) {
                empty =
                        ort.createTensor(
                                allocator,
                                new long[] {rows, signature.kvHeads(), 0, signature.headDim()},
                                OrtApiShim.FLOAT);
                inputs.add(empty);
            }
            for (int i = 0; i < pastNames.length; i++) {
                ort.bindInput(binding, pastNames[i], kv == null ? empty : kv[i]);
            }
            ort.clearBoundOutputs(binding);
            ort.bindOutputToDevice(binding, "logits", cpuInfo);
            for (String name : presentNames) {
                ort.bindOutputToDevice(binding, name, kvMemory());
            }
            long t0 = System.nanoTime();
            ort.runWithBinding(session, binding);
            traffic.modelNanos += System.nanoTime() - t0;
            traffic.runs++;
            long tokenBytes = (long) Long.BYTES * (inputIds.length + mask.length);
            if (signature.positionIds()) {
                tokenBytes += (long) Long.BYTES * positions.length;
            }
            traffic.tokenBytesIn += tokenBytes;
            traffic.maskBytesIn += (long) Long.BYTES * mask.length;
            outputs = ort.boundOutputValues(binding, allocator);
            if (outputs.length != 1 + presentNames.length) {
                throw new IllegalStateException(
                        "expected "
                                + (1 + presentNames.length)
                                + " outputs, got "
                                + outputs.length);
            }
            readLogits(outputs[0], batch, newTokens, out);
            releaseCaches();
            kv = Arrays.copyOfRange(outputs, 1, outputs.length);
            kvOwners = null;
            ort.releaseValue(outputs[0]);
            outputs = null;
        } finally {
            if (outputs != null) {
                for (Pointer p : outputs) {
                    ort.releaseValue(p);
                }
            }
            ort.clearBoundInputs(binding);
            for (Pointer p : inputs) {
                ort.releaseValue(p);
            }
        }
        for (Extension e : batch) {
            int t = e.tokens().length;
            if (t == 0) {
                continue;
            }
            int r = rowOf.get(e.sequenceId());
            if (columns[r].length < lengths[r] + t) {
                columns[r] = Arrays.copyOf(columns[r], Math.max(16, 2 * (lengths[r] + t)));
            }
            for (int j = 0; j < t; j++) {
                columns[r][lengths[r] + j] = width + newTokens - t + j;
            }
            lengths[r] += t;
        }
        width = total;
    }

    private void readLogits(Pointer logits, List<Extension> batch, int newTokens, float[][][] out) {
        long[] shape = ort.shape(logits); // [rows][newTokens][vocab]
        int vocab = Math.toIntExact(shape[2]);
        FloatBuffer all =
                ort.tensorData(logits)
                        .getByteBuffer(0, (long) rows * newTokens * vocab * Float.BYTES)
                        .order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
        for (int b = 0; b < batch.size(); b++) {
            Extension e = batch.get(b);
            int t = e.tokens().length;
            if (t == 0) {
                continue;
            }
            int r = rowOf.get(e.sequenceId());
            float[][] rowsOut = new float[t][vocab];
            for (int j = 0; j < t; j++) {
                all.get((r * newTokens + newTokens - t + j) * vocab, rowsOut[j]);
            }
            traffic.logitBytesOut += (long) t * vocab * Float.BYTES;
            out[b] = rowsOut;
        }
    }

    /**
     * Packs every live row's cached columns to the left of a batch of {@code newRows} rows and
     * {@code longest} columns, the live rows first in their current order.
     */
    private void relayout(int newRows, int longest) {
        int heads = signature.kvHeads();
        int[] order = new int[newRows]; // new row -> old row, -1 for a free row
        Arrays.fill(order, -1);
        int next = 0;
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                order[next++] = r;
            }
        }
        if (kv != null && longest > 0) {
            long n = (long) newRows * heads * longest;
            long[] index = new long[Math.toIntExact(n)]; // [newRows][heads][longest]
            for (int nr = 0; nr < newRows; nr++) {
                int r = order[nr];
                for (int h = 0; h < heads; h++) {
                    int base = (nr * heads + h) * longest;
                    long source = (long) (Math.max(r, 0) * heads + h) * width;
                    for (int i = 0; i < longest; i++) {
                        // Padding repeats a computed column, so every hole stays finite.
                        int col =
                                r < 0 || lengths[r] == 0
                                        ? 0
                                        : columns[r][Math.min(i, lengths[r] - 1)];
                        index[base + i] = source + col;
                    }
                }
            }
            indexBuffer = fill(indexBuffer, index);
            traffic.compactionIndexBytes += (long) Long.BYTES * n;
            Pointer[] packed = new Pointer[kv.length];
            Pointer[] owners = new Pointer[kv.length];
            try {
                long[] shape = {newRows, heads, longest, signature.headDim()};
                for (int i = 0; i < kv.length; i++) {
                    long t0 = System.nanoTime();
                    owners[i] =
                            gather.gather(
                                    kv[i],
                                    (long) rows * heads * width,
                                    signature.headDim(),
                                    indexBuffer,
                                    n,
                                    kvMemory(),
                                    cpuInfo,
                                    kvMemory(),
                                    allocator);
                    traffic.modelNanos += System.nanoTime() - t0;
                    traffic.runs++;
                    packed[i] =
                            ort.createTensorOver(
                                    kvMemory(),
                                    ort.tensorData(owners[i]),
                                    n * signature.headDim() * Float.BYTES,
                                    shape,
                                    OrtApiShim.FLOAT);
                }
            } catch (RuntimeException e) {
                release(packed);
                release(owners);
                throw e;
            }
            releaseCaches();
            kv = packed;
            kvOwners = owners;
        } else {
            releaseCaches();
            longest = 0;
        }
        String[] newIds = new String[newRows];
        int[] newLengths = new int[newRows];
        int[][] newColumns = new int[newRows][];
        rowOf.clear();
        for (int nr = 0; nr < newRows; nr++) {
            int r = order[nr];
            newColumns[nr] = new int[0];
            if (r >= 0) {
                newIds[nr] = ids[r];
                newLengths[nr] = lengths[r];
                int[] packedColumns = new int[Math.max(16, 2 * lengths[r])];
                for (int i = 0; i < lengths[r]; i++) {
                    packedColumns[i] = i;
                }
                newColumns[nr] = packedColumns;
                rowOf.put(ids[r], nr);
            }
        }
        ids = newIds;
        lengths = newLengths;
        columns = newColumns;
        rows = newRows;
        width = longest;
        traffic.compactions++;
    }

    /** Tokens cached for {@code id}; 0 when unknown. */
    public int cachedLength(String id) {
        Integer r = rowOf.get(id);
        return r == null ? 0 : lengths[r];
    }

    /** Keeps the first {@code length} cached tokens; the rest become holes. */
    public void truncate(String id, int length) {
        Integer r = rowOf.get(id);
        int cached = r == null ? 0 : lengths[r];
        if (length < 0 || length > cached) {
            throw new IllegalArgumentException(
                    "cannot truncate a cache of " + cached + " tokens to " + length);
        }
        if (r != null) {
            lengths[r] = length;
        }
    }

    /** Frees the sequence's row for the next new sequence; unknown ids are ignored. */
    public void release(String id) {
        Integer r = rowOf.remove(id);
        if (r != null) {
            ids[r] = null;
            lengths[r] = 0;
        }
    }

    /** Sequences holding a row. */
    public int sequences() {
        return rowOf.size();
    }

    /** Rows and columns of the resident batch (for tests and the bench). */
    public int rows() {
        return rows;
    }

    public int width() {
        return width;
    }

    /** Bytes the resident caches occupy (holes included). */
    public long cacheBytes() {
        return 2L
                * signature.layers()
                * rows
                * signature.kvHeads()
                * width
                * signature.headDim()
                * Float.BYTES;
    }

    /** Where the caches live, e.g. {@code Cpu:0} or {@code Cuda:0}; null while empty. */
    public String cacheLocation() {
        return kv == null ? null : ort.location(kv[0]);
    }

    @Override
    public void close() {
        releaseCaches();
        gather.close();
        ort.releaseIoBinding(binding);
        ort.releaseMemoryInfo(deviceInfo);
        ort.releaseMemoryInfo(cpuInfo);
    }

    private Pointer kvMemory() {
        return deviceInfo == null ? cpuInfo : deviceInfo;
    }

    private void releaseCaches() {
        // Views first: each one reads memory its owner holds.
        release(kv);
        release(kvOwners);
        kv = null;
        kvOwners = null;
    }

    private void release(Pointer[] values) {
        if (values != null) {
            for (Pointer p : values) {
                ort.releaseValue(p);
            }
        }
    }

    private Pointer tensorOver(Memory memory, long[] shape) {
        long elements = 1;
        for (long d : shape) {
            elements *= d;
        }
        return ort.createTensorOver(
                cpuInfo, memory, elements * Long.BYTES, shape, OrtApiShim.INT64);
    }

    private static Pointer last(List<Pointer> values) {
        return values.get(values.size() - 1);
    }

    /** Copies {@code values} into {@code buffer}, replacing it by a larger one when needed. */
    private static Memory fill(Memory buffer, long[] values) {
        long bytes = Math.max(Long.BYTES, (long) Long.BYTES * values.length);
        if (buffer == null || buffer.size() < bytes) {
            buffer = new Memory(Math.max(bytes, buffer == null ? 0 : 2 * buffer.size()));
        }
        buffer.write(0, values, 0, values.length);
        return buffer;
    }
}
