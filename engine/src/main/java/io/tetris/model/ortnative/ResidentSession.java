package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.ModelTraffic;
import io.tetris.model.NextTokens;
import java.util.List;

/**
 * The ONNX Runtime side of a {@link ResidentKvBatch}: the model's session and IoBinding, the memory
 * the caches live in, the helper graphs that move them ({@link KvGather}, {@link KvScatter}, {@link
 * LogitsReducer}), the host buffers a pass's inputs are written to, and the traffic counters. What
 * to bind and when is the batch's business.
 */
final class ResidentSession implements AutoCloseable {

    /**
     * Largest vocabulary whose logits are reduced on the host when they lie there. Reading a row in
     * Java costs about 10 ns per entry (an exp each for the log-sum-exp), the graph a fixed ~100 us
     * per pass plus vectorised work: measured on 32 sequences x 3 greedy positions, the two are
     * even at 257 entries (1.0 ms per draft pass either way) and the graph halves the pass at 2,048
     * (3.1-4.2 ms on the host against 1.7-2.1 ms); at 32k and more the host would cost milliseconds
     * per pass.
     */
    static final int HOST_REDUCTION_MAX_VOCAB = 512;

    final OrtApiShim ort;
    final DecoderSignature signature;
    final Pointer binding;
    final Pointer cpuInfo;
    final Pointer allocator;
    final Pointer kvAllocator; // allocates where the caches live
    final int kvType; // ORT element type of the caches (FLOAT or FLOAT16)
    final String[] pastNames; // [2 * layers] key, value per layer
    final String[] presentNames; // [2 * layers]
    final ModelTraffic traffic = new ModelTraffic();

    private final Pointer session;
    private final OrtSession ownSession;
    private final Pointer deviceInfo; // null: the caches live in CPU memory
    private final KvGather gather1; // compaction and resizing
    private final KvGather gather2; // merging prefilled sequences in
    private final KvScatter kvScatter; // prefilled sequences into free rows
    private final KvScatter maskScatter;
    private final LogitsReducer reducer;

    private Memory idsBuffer;
    private Memory positionsBuffer;
    private Memory maskBuffer;
    private Memory holesBuffer;
    private Memory indexBuffer;
    private Memory writeAtBuffer;
    private Memory maskValuesBuffer;
    private Pointer logitsOwner; // where in-place passes write their logits
    private long logitsCapacity; // floats

    /**
     * @param session the session of a rewritten decoder; closed with this
     * @param sessionOptions the model's options, reused for the helper graphs
     * @param kvDevice ORT memory-info name for the caches ({@code "Cuda"}), or null for CPU memory
     * @param deviceId the device index for {@code kvDevice}
     * @param logitsGraph reduce logits with the graph even in CPU memory (as a device does)
     */
    ResidentSession(
            OrtApiShim ort,
            OrtSession session,
            OrtSession.SessionOptions sessionOptions,
            DecoderSignature signature,
            String kvDevice,
            int deviceId,
            boolean logitsGraph) {
        this.ort = ort;
        this.ownSession = session;
        this.signature = signature;
        this.session = OrtApiShim.session(session);
        this.cpuInfo = ort.createCpuMemoryInfo();
        this.allocator = ort.defaultAllocator();
        this.deviceInfo =
                kvDevice == null
                        ? null
                        : ort.createMemoryInfo(kvDevice, OrtApiShim.DEVICE_ALLOCATOR, deviceId);
        this.kvAllocator =
                deviceInfo == null ? allocator : ort.createAllocator(this.session, deviceInfo);
        this.binding = ort.createIoBinding(this.session);
        this.kvType = signature.kvType().getNumber();
        this.gather1 = KvGather.create(ort, sessionOptions, 1, signature.kvType());
        this.gather2 = KvGather.create(ort, sessionOptions, 2, signature.kvType());
        this.kvScatter = KvScatter.create(ort, sessionOptions, signature.kvType());
        this.maskScatter = KvScatter.create(ort, sessionOptions, DataType.INT64);
        this.reducer =
                LogitsReducer.create(
                        ort,
                        sessionOptions,
                        kvDevice != null
                                || logitsGraph
                                || signature.vocab() <= 0
                                || signature.vocab() > HOST_REDUCTION_MAX_VOCAB);
        int layers = signature.layers();
        pastNames = new String[2 * layers];
        presentNames = new String[2 * layers];
        for (int l = 0; l < layers; l++) {
            pastNames[2 * l] = DecoderSignature.pastKey(l);
            pastNames[2 * l + 1] = DecoderSignature.pastValue(l);
            presentNames[2 * l] = DecoderSignature.presentKey(l);
            presentNames[2 * l + 1] = DecoderSignature.presentValue(l);
        }
    }

    /** Where the caches live: CPU memory, or the device's. */
    Pointer kvMemory() {
        return deviceInfo == null ? cpuInfo : deviceInfo;
    }

    boolean onDevice() {
        return deviceInfo != null;
    }

    /**
     * Fills and binds what is a pass's own (token ids, new mask columns, holes shaped {@code
     * holeShape}, and positions), adding the values to {@code inputs} for the caller to release.
     */
    void bindPassInputs(PassInputs pass, long[] holeIndex, long[] holeShape, List<Pointer> inputs) {
        idsBuffer = OrtApiShim.fill(idsBuffer, pass.inputIds());
        maskBuffer = OrtApiShim.fill(maskBuffer, pass.maskNew());
        holesBuffer = OrtApiShim.fill(holesBuffer, holeIndex);
        long[] tokenShape = {pass.rows(), pass.newTokens()};
        inputs.add(tensorOver(idsBuffer, tokenShape));
        ort.bindInput(binding, DecoderSignature.INPUT_IDS, last(inputs));
        inputs.add(tensorOver(maskBuffer, tokenShape));
        ort.bindInput(binding, ResidentMask.NEW, last(inputs));
        inputs.add(tensorOver(holesBuffer, holeShape));
        ort.bindInput(binding, ResidentMask.HOLES, last(inputs));
        if (signature.positionIds()) {
            positionsBuffer = OrtApiShim.fill(positionsBuffer, pass.positions());
            inputs.add(tensorOver(positionsBuffer, tokenShape));
            ort.bindInput(binding, DecoderSignature.POSITION_IDS, last(inputs));
        }
    }

    /** Binds the column a pass writes at ({@link SharedKvRewrite#WRITE_AT}), and counts it. */
    void bindWriteAt(int writeAt, List<Pointer> inputs) {
        writeAtBuffer = OrtApiShim.fill(writeAtBuffer, new long[] {writeAt});
        inputs.add(tensorOver(writeAtBuffer, new long[] {1}));
        ort.bindInput(binding, SharedKvRewrite.WRITE_AT, last(inputs));
        traffic.tokenBytesIn += Long.BYTES;
    }

    /** Runs the bound pass, timing it and counting the bytes its own inputs sent. */
    void run(PassInputs pass, long[] holeIndex) {
        long t0 = System.nanoTime();
        ort.runWithBinding(session, binding);
        traffic.modelNanos += System.nanoTime() - t0;
        traffic.runs++;
        long maskBytes = (long) Long.BYTES * (pass.maskNew().length + holeIndex.length);
        long positionBytes = signature.positionIds() ? pass.positions().length : 0;
        traffic.tokenBytesIn +=
                (long) Long.BYTES * (pass.inputIds().length + positionBytes) + maskBytes;
        traffic.maskBytesIn += maskBytes;
    }

    /**
     * Reduces the logits {@code [pass rows * newTokens][vocab]} where they lie to what the pass's
     * members want, into {@code out}.
     */
    void reduce(
            Pointer logits, int vocab, PassInputs pass, List<Extension> batch, NextTokens[] out) {
        WantedLogits wanted = WantedLogits.of(batch, pass);
        if (wanted.none()) {
            for (int b : pass.members()) {
                out[b] = NextTokens.NONE;
            }
            return;
        }
        long t0 = System.nanoTime();
        LogitsReducer.Reduced reduced =
                reducer.reduce(
                        logits,
                        (long) pass.rows() * pass.newTokens(),
                        vocab,
                        kvMemory(),
                        wanted.rows(),
                        wanted.fullRows(),
                        cpuInfo,
                        allocator);
        if (reducer.usesGraph()) {
            traffic.modelNanos += System.nanoTime() - t0;
            traffic.runs++;
        }
        traffic.logitBytesOut += reduced.bytesOut();
        wanted.deliver(batch, pass.members(), reduced, out);
    }

    /**
     * Runs one gather per cache tensor on the caches' device: {@code data[u]} are the caches of the
     * plan's used sources, {@code dataRows[u]} their rows times heads times width.
     *
     * @return {@code [2][2 * layers]}: the views {@code [newRows][heads][capacity][headDim]} to
     *     bind, and the gather outputs they read (release the views first)
     */
    Pointer[][] gather(
            GatherPlan plan, List<Pointer[]> data, long[] dataRows, int newRows, int capacity) {
        int heads = signature.kvHeads();
        indexBuffer = OrtApiShim.fill(indexBuffer, plan.index());
        traffic.compactionIndexBytes += (long) Long.BYTES * plan.index().length;
        KvGather gather = data.size() == 1 ? gather1 : gather2;
        Pointer[] packed = new Pointer[pastNames.length];
        Pointer[] owners = new Pointer[pastNames.length];
        try {
            long n = (long) newRows * heads * capacity;
            long[] shape = {newRows, heads, capacity, signature.headDim()};
            for (int i = 0; i < pastNames.length; i++) {
                Pointer[] sources = new Pointer[data.size()];
                for (int u = 0; u < sources.length; u++) {
                    sources[u] = data.get(u)[i];
                }
                long t0 = System.nanoTime();
                owners[i] =
                        gather.gather(
                                sources,
                                dataRows,
                                signature.headDim(),
                                indexBuffer,
                                newRows,
                                capacity,
                                heads,
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
                                n * signature.headDim() * signature.kvElementBytes(),
                                shape,
                                kvType);
            }
        } catch (RuntimeException e) {
            release(packed);
            release(owners);
            throw e;
        }
        return new Pointer[][] {packed, owners};
    }

    /**
     * A mask {@code [rows][width]} in host memory (the next pass takes it where the caches live),
     * sent once per relayout, like the gather index.
     */
    Pointer hostMask(long[] values, int rows, int width) {
        Pointer value = ort.createTensor(allocator, new long[] {rows, width}, OrtApiShim.INT64);
        ort.tensorData(value).write(0, values, 0, values.length);
        traffic.compactionIndexBytes += (long) Long.BYTES * values.length;
        return value;
    }

    /** Scatters prefilled caches and their mask columns into {@code kv} and {@code mask}. */
    void scatter(JoinPlan plan, Pointer[] kv, Pointer mask, Pointer[] prefilled) {
        int f = plan.sequences();
        int newTokens = plan.newTokens();
        indexBuffer = OrtApiShim.fill(indexBuffer, plan.kvIndex());
        long t0 = System.nanoTime();
        for (int i = 0; i < pastNames.length; i++) {
            kvScatter.scatter(
                    kv[i],
                    indexBuffer,
                    new long[] {f, signature.kvHeads(), newTokens, 3},
                    prefilled[i],
                    cpuInfo,
                    allocator);
        }
        indexBuffer = OrtApiShim.fill(indexBuffer, plan.maskIndex());
        maskValuesBuffer = OrtApiShim.fill(maskValuesBuffer, plan.maskValues());
        Pointer values = tensorOver(maskValuesBuffer, new long[] {f, newTokens});
        try {
            maskScatter.scatter(
                    mask, indexBuffer, new long[] {f, newTokens, 2}, values, cpuInfo, allocator);
        } finally {
            ort.releaseValue(values);
        }
        traffic.modelNanos += System.nanoTime() - t0;
        traffic.runs += pastNames.length + 1;
        traffic.joins++;
        traffic.compactionIndexBytes +=
                (long) Long.BYTES
                        * (plan.kvIndex().length
                                + plan.maskIndex().length
                                + plan.maskValues().length);
    }

    /**
     * A view {@code [rows][newTokens][vocab]} over a logits buffer of this session's, where the
     * caches live; the buffer grows when a pass needs more, and is reused otherwise.
     */
    Pointer logitsBuffer(int rows, int newTokens, int vocab) {
        long elements = (long) rows * newTokens * vocab;
        if (logitsOwner == null || logitsCapacity < elements) {
            ort.releaseValue(logitsOwner);
            logitsOwner = null;
            logitsCapacity = Math.max(elements, 2 * logitsCapacity);
            logitsOwner =
                    ort.createTensor(kvAllocator, new long[] {logitsCapacity}, OrtApiShim.FLOAT);
        }
        return ort.createTensorOver(
                kvMemory(),
                ort.tensorData(logitsOwner),
                elements * Float.BYTES,
                new long[] {rows, newTokens, vocab},
                OrtApiShim.FLOAT);
    }

    void release(Pointer[] values) {
        if (values != null) {
            for (Pointer p : values) {
                ort.releaseValue(p);
            }
        }
    }

    /** An int64 tensor over host memory {@code memory}. */
    Pointer tensorOver(Memory memory, long[] shape) {
        long elements = 1;
        for (long d : shape) {
            elements *= d;
        }
        return ort.createTensorOver(
                cpuInfo, memory, elements * Long.BYTES, shape, OrtApiShim.INT64);
    }

    static Pointer last(List<Pointer> values) {
        return values.get(values.size() - 1);
    }

    @Override
    public void close() {
        gather1.close();
        gather2.close();
        kvScatter.close();
        maskScatter.close();
        reducer.close();
        ort.releaseIoBinding(binding);
        ort.releaseValue(logitsOwner);
        if (kvAllocator != allocator) {
            ort.releaseAllocator(kvAllocator);
        }
        try {
            ownSession.close();
        } catch (ai.onnxruntime.OrtException e) {
            throw new IllegalStateException("cannot close the model session", e);
        }
        ort.releaseMemoryInfo(deviceInfo);
        ort.releaseMemoryInfo(cpuInfo);
    }
}
