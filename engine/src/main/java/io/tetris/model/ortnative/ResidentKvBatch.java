package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.ModelTraffic;
import io.tetris.model.NextTokens;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The KV caches of many sequences kept resident where the model runs, as one batch: per layer one
 * key and one value tensor {@code [rows][kvHeads][width][headDim]}, owned by ONNX Runtime. Each run
 * binds them as {@code past_key_values.*} through IoBinding and keeps the run's {@code present.*}
 * outputs as the next batch, so a cache is never copied to the Java heap. The attention mask stays
 * with the caches ({@link ResidentMask}) and the logits are reduced where they lie ({@link
 * LogitsReducer}), so a pass moves the new token ids and mask columns in, and the argmax (or the
 * rows a sampled sequence needs) out.
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

    /**
     * Largest vocabulary whose logits are reduced on the host when they lie there. Reading a row in
     * Java costs about 10 ns per entry (an exp each for the log-sum-exp), the graph a fixed ~100 us
     * per pass plus vectorised work: measured on 32 sequences x 3 greedy positions, the two are
     * even at 257 entries (1.0 ms per draft pass either way) and the graph halves the pass at 2,048
     * (3.1-4.2 ms on the host against 1.7-2.1 ms); at 32k and more the host would cost milliseconds
     * per pass.
     */
    static final int HOST_REDUCTION_MAX_VOCAB = 512;

    /** Wider than this factor of the longest sequence (plus {@link #SLACK}) triggers compaction. */
    private static final double MAX_WIDTH_FACTOR = 1.2;

    private static final int SLACK = 8;

    /** In place, a relayout leaves room for this fraction of the longest sequence (at least 16). */
    private static final double HEADROOM_FACTOR = 0.25;

    private static final int MIN_HEADROOM = 16;

    private final OrtApiShim ort;
    private final DecoderSignature signature;
    private final Pointer session;
    private final Pointer binding;
    private final Pointer cpuInfo;
    private final Pointer deviceInfo; // null: the caches live in CPU memory
    private final Pointer allocator;
    private final Pointer kvAllocator; // allocates where the caches live
    private final boolean inPlace; // SharedKvRewrite: passes write into the caches
    private final KvGather gather1; // compaction and resizing
    private final KvGather gather2; // merging prefilled sequences in
    private final KvScatter kvScatter; // in place: prefilled sequences into free rows
    private final int kvType; // ORT element type of the caches (FLOAT or FLOAT16)

    private final KvScatter maskScatter;
    private final LogitsReducer reducer;
    private final String[] pastNames; // [2 * layers] key, value per layer
    private final String[] presentNames; // [2 * layers]

    private final OrtSession ownSession;
    private Pointer[] kv; // [2 * layers] values [rows][heads][width][headDim]; null when width == 0
    private Pointer mask; // [rows][capacity] int64, 1 for a cached column; null when empty
    private boolean maskResident; // in place: the mask lies where the caches live
    private LongList holes = new LongList(); // flat [rows * capacity] mask indices now holes
    private Pointer[] kvOwners; // [2 * layers] gather outputs that kv views; null entries if none
    private int rows;
    private int width; // columns in use (holes included); new tokens go after them
    private int capacity; // columns allocated; == width unless in place
    private String[] ids = new String[0]; // [rows], null for a free row
    private int[] lengths = new int[0]; // [rows] cached tokens
    private int[][] columns = new int[0][]; // [rows][>= length] column of each cached token
    private final Map<String, Integer> rowOf = new HashMap<>();

    private Memory idsBuffer;
    private Memory positionsBuffer;
    private Memory maskBuffer;
    private Memory holesBuffer;
    private Memory indexBuffer;
    private Memory writeAtBuffer;
    private Memory maskValuesBuffer;
    private Pointer logitsOwner; // in place: where passes write their logits
    private long logitsCapacity; // floats
    private boolean cachesBound; // in place: the binding holds kv and mask, in and out

    private final ModelTraffic traffic = new ModelTraffic();

    /**
     * Creates the session for {@code model}, parsed from {@code onnxFile} (whose folder holds any
     * external data), and a batch over it that owns the session: with {@code inPlace} and a graph
     * {@link SharedKvRewrite} knows, passes write into the caches; otherwise the attention mask is
     * made resident ({@link ResidentMask}) and each pass's {@code present} outputs become the
     * caches; with {@code packRows} the weight products skip the padding ({@link PackedRows}). Call
     * on a large-stack thread.
     */
    public static ResidentKvBatch open(
            OrtApiShim ort,
            java.nio.file.Path onnxFile,
            OnnxMl.ModelProto parsed,
            OrtSession.SessionOptions sessionOptions,
            DecoderSignature signature,
            String kvDevice,
            int deviceId,
            boolean logitsGraph,
            boolean inPlace,
            boolean packRows) {
        OnnxMl.ModelProto model = ExportAdapter.adapt(parsed, signature);
        OnnxMl.ModelProto shared = inPlace ? SharedKvRewrite.rewrite(model, signature) : null;
        OnnxMl.ModelProto rewritten = shared != null ? shared : ResidentMask.rewrite(model);
        if (packRows) {
            rewritten = PackedRows.rewrite(rewritten);
        }
        OrtSession session;
        try {
            // Weights kept in external files are found next to the model, as when loaded by path.
            sessionOptions.addConfigEntry(
                    "session.model_external_initializers_file_folder_path",
                    onnxFile.toAbsolutePath().getParent().toString());
            session =
                    ai.onnxruntime.OrtEnvironment.getEnvironment()
                            .createSession(rewritten.toByteArray(), sessionOptions);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IllegalArgumentException(
                    "cannot create a session for " + onnxFile + ": " + e.getMessage(), e);
        }
        try {
            return new ResidentKvBatch(
                    ort,
                    session,
                    sessionOptions,
                    signature,
                    kvDevice,
                    deviceId,
                    logitsGraph,
                    shared != null);
        } catch (RuntimeException e) {
            try {
                session.close();
            } catch (ai.onnxruntime.OrtException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * @param session the session of a decoder rewritten by {@link ResidentMask}; closed with the
     *     batch
     * @param sessionOptions the model's options, reused for the compaction graph
     * @param kvDevice ORT memory-info name for the caches ({@code "Cuda"}), or null for CPU memory
     * @param deviceId the device index for {@code kvDevice}
     * @param logitsGraph reduce logits with the graph even in CPU memory (as a device does)
     * @param inPlace whether the session's graph is a {@link SharedKvRewrite} one
     */
    private ResidentKvBatch(
            OrtApiShim ort,
            OrtSession session,
            OrtSession.SessionOptions sessionOptions,
            DecoderSignature signature,
            String kvDevice,
            int deviceId,
            boolean logitsGraph,
            boolean inPlace) {
        this.ort = ort;
        this.inPlace = inPlace;
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

    /** Whether passes write into the caches ({@link SharedKvRewrite}) rather than copy them. */
    public boolean inPlace() {
        return inPlace;
    }

    /** Counters since creation (live object; copy it to take a snapshot). */
    public ModelTraffic traffic() {
        return traffic;
    }

    /**
     * Appends each extension's tokens to its sequence's cache and returns what the pass says about
     * the next token after each of its returned positions (reduced where the extension is greedy;
     * {@link NextTokens#NONE} for an extension without tokens).
     */
    public NextTokens[] next(List<Extension> batch) {
        long started = System.nanoTime();
        try {
            return nextHere(batch);
        } finally {
            traffic.totalNanos += System.nanoTime() - started;
        }
    }

    private NextTokens[] nextHere(List<Extension> batch) {
        NextTokens[] out = new NextTokens[batch.size()];
        List<Integer> known = new ArrayList<>(); // batch indices of cached sequences
        List<Integer> fresh = new ArrayList<>(); // batch indices of new sequences
        int knownTokens = 0;
        int freshTokens = 0;
        Set<String> seen = new HashSet<>();
        for (int b = 0; b < batch.size(); b++) {
            Extension e = batch.get(b);
            if (e.tokens().length == 0) {
                out[b] = NextTokens.NONE;
                continue;
            }
            if (!seen.add(e.sequenceId())) {
                throw new IllegalArgumentException(
                        "sequence " + e.sequenceId() + " appears twice in one batch");
            }
            if (rowOf.containsKey(e.sequenceId())) {
                known.add(b);
                knownTokens = Math.max(knownTokens, e.tokens().length);
            } else {
                fresh.add(b);
                freshTokens = Math.max(freshTokens, e.tokens().length);
            }
        }
        // A prompt run in the same pass as one-token steps would make every other row process
        // (and keep as holes) as many positions as the prompt has: prefill new sequences in a
        // pass of their own and merge them in instead.
        boolean apart = !fresh.isEmpty() && freshTokens > 2 * knownTokens + 2;
        if (apart) {
            if (!known.isEmpty()) {
                step(batch, known, List.of(), knownTokens, out);
            }
            prefill(batch, fresh, freshTokens, out);
        } else if (!known.isEmpty() || !fresh.isEmpty()) {
            step(batch, known, fresh, Math.max(knownTokens, freshTokens), out);
        }
        return out;
    }

    /** One pass over the resident batch: the known rows, plus new ones given free rows. */
    private void step(
            List<Extension> batch,
            List<Integer> known,
            List<Integer> fresh,
            int newTokens,
            NextTokens[] out) {
        makeRoom(fresh.size(), newTokens);
        for (int b : fresh) {
            int r = 0;
            while (ids[r] != null) {
                r++;
            }
            ids[r] = batch.get(b).sequenceId();
            lengths[r] = 0;
            rowOf.put(ids[r], r);
        }
        List<Integer> members = new ArrayList<>(known);
        members.addAll(fresh);
        int total = width + newTokens;
        long[] inputIds = new long[rows * newTokens]; // [rows][newTokens]
        long[] positions = new long[rows * newTokens]; // [rows][newTokens]
        long[] maskNew = new long[rows * newTokens]; // [rows][newTokens]
        int[] rowOfMember = new int[members.size()];
        for (int m = 0; m < members.size(); m++) {
            Extension e = batch.get(members.get(m));
            int r = rowOf.get(e.sequenceId());
            rowOfMember[m] = r;
            int t = e.tokens().length;
            for (int j = 0; j < t; j++) {
                int col = newTokens - t + j;
                inputIds[r * newTokens + col] = e.tokens()[j];
                positions[r * newTokens + col] = lengths[r] + j;
                maskNew[r * newTokens + col] = 1;
            }
        }
        boolean written = inPlace && kv != null;
        if (written && maskResident && signature.vocab() > 0) {
            forwardInPlace(
                    inputIds,
                    positions,
                    maskNew,
                    holeIndex(),
                    newTokens,
                    batch,
                    members,
                    rowOfMember,
                    out);
        } else {
            adopt(
                    written,
                    total,
                    forward(
                            inputIds,
                            positions,
                            maskNew,
                            holeIndex(),
                            rows,
                            newTokens,
                            width,
                            kv,
                            mask,
                            batch,
                            members,
                            rowOfMember,
                            out));
        }
        holes = new LongList();
        for (int m = 0; m < members.size(); m++) {
            int r = rowOfMember[m];
            int t = batch.get(members.get(m)).tokens().length;
            ensureColumns(r, lengths[r] + t);
            for (int j = 0; j < t; j++) {
                columns[r][lengths[r] + j] = width + newTokens - t + j;
            }
            lengths[r] += t;
        }
        width = total;
    }

    /** Takes over what a general {@link #forward} pass returned. */
    private void adopt(boolean written, int total, Pointer[] presents) {
        if (written) {
            // The caches were written in place: the outputs are handles onto them.
            release(Arrays.copyOf(presents, pastNames.length));
            Pointer maskOut = presents[pastNames.length];
            if (maskResident) {
                ort.releaseValue(maskOut);
            } else {
                ort.releaseValue(mask);
                mask = maskOut;
                maskResident = true;
                cachesBound = false;
            }
        } else {
            releaseCaches();
            kv = Arrays.copyOf(presents, pastNames.length);
            mask = presents[pastNames.length];
            maskResident = true;
            capacity = total;
        }
    }

    /**
     * A pass in place with the caches and the mask where they live: they stay bound from pass to
     * pass (as input and output at once), the logits go to a buffer of this batch's, and only the
     * pass's own inputs are bound anew, so a pass makes a fixed, small number of native calls.
     */
    private void forwardInPlace(
            long[] inputIds,
            long[] positions,
            long[] maskNew,
            long[] holePairs,
            int newTokens,
            List<Extension> batch,
            List<Integer> members,
            int[] rowOfMember,
            NextTokens[] out) {
        int vocab = signature.vocab();
        List<Pointer> inputs = new ArrayList<>();
        try {
            if (!cachesBound) {
                ort.clearBoundInputs(binding);
                ort.clearBoundOutputs(binding);
                for (int i = 0; i < pastNames.length; i++) {
                    ort.bindInput(binding, pastNames[i], kv[i]);
                    ort.bindOutput(binding, presentNames[i], kv[i]);
                }
                ort.bindInput(binding, ResidentMask.PAST, mask);
                ort.bindOutput(binding, ResidentMask.PRESENT, mask);
                cachesBound = true;
            }
            // Binding a name again replaces what was bound to it.
            bindPassInputs(inputIds, positions, maskNew, holePairs, rows, newTokens, width, inputs);
            long logitElements = (long) rows * newTokens * vocab;
            if (logitsOwner == null || logitsCapacity < logitElements) {
                ort.releaseValue(logitsOwner);
                logitsOwner = null;
                logitsCapacity = Math.max(logitElements, 2 * logitsCapacity);
                logitsOwner =
                        ort.createTensor(
                                kvAllocator, new long[] {logitsCapacity}, OrtApiShim.FLOAT);
            }
            inputs.add(
                    ort.createTensorOver(
                            kvMemory(),
                            ort.tensorData(logitsOwner),
                            logitElements * Float.BYTES,
                            new long[] {rows, newTokens, vocab},
                            OrtApiShim.FLOAT));
            Pointer logits = last(inputs);
            ort.bindOutput(binding, DecoderSignature.LOGITS, logits);
            run(inputIds, positions, maskNew, holePairs);
            reduce(logits, vocab, rows, newTokens, batch, members, rowOfMember, out);
        } finally {
            // The binding keeps its own references until the next pass replaces them.
            for (Pointer p : inputs) {
                ort.releaseValue(p);
            }
        }
    }

    /**
     * Fills and binds what is a pass's own (token ids, new mask columns, holes, in place the write
     * column, and positions), adding the values to {@code inputs} for the caller to release.
     */
    private void bindPassInputs(
            long[] inputIds,
            long[] positions,
            long[] maskNew,
            long[] holeIndex,
            int batchRows,
            int newTokens,
            int writeAt,
            List<Pointer> inputs) {
        idsBuffer = OrtApiShim.fill(idsBuffer, inputIds);
        maskBuffer = OrtApiShim.fill(maskBuffer, maskNew);
        holesBuffer = OrtApiShim.fill(holesBuffer, holeIndex);
        long[] tokenShape = {batchRows, newTokens};
        inputs.add(tensorOver(idsBuffer, tokenShape));
        ort.bindInput(binding, DecoderSignature.INPUT_IDS, last(inputs));
        inputs.add(tensorOver(maskBuffer, tokenShape));
        ort.bindInput(binding, ResidentMask.NEW, last(inputs));
        long[] holesShape =
                inPlace ? new long[] {holeIndex.length / 2, 2} : new long[] {holeIndex.length};
        inputs.add(tensorOver(holesBuffer, holesShape));
        ort.bindInput(binding, ResidentMask.HOLES, last(inputs));
        if (inPlace) {
            writeAtBuffer = OrtApiShim.fill(writeAtBuffer, new long[] {writeAt});
            inputs.add(tensorOver(writeAtBuffer, new long[] {1}));
            ort.bindInput(binding, SharedKvRewrite.WRITE_AT, last(inputs));
        }
        if (signature.positionIds()) {
            positionsBuffer = OrtApiShim.fill(positionsBuffer, positions);
            inputs.add(tensorOver(positionsBuffer, tokenShape));
            ort.bindInput(binding, DecoderSignature.POSITION_IDS, last(inputs));
        }
    }

    /** Runs the bound pass, timing it and counting the bytes its own inputs sent. */
    private void run(long[] inputIds, long[] positions, long[] maskNew, long[] holeIndex) {
        long t0 = System.nanoTime();
        ort.runWithBinding(session, binding);
        traffic.modelNanos += System.nanoTime() - t0;
        traffic.runs++;
        long maskBytes = (long) Long.BYTES * (maskNew.length + holeIndex.length);
        long positionBytes = signature.positionIds() ? positions.length : 0;
        traffic.tokenBytesIn +=
                (long) Long.BYTES * (inputIds.length + (inPlace ? 1 : 0) + positionBytes)
                        + maskBytes;
        traffic.maskBytesIn += maskBytes;
    }

    /** The holes to clear in this pass: flat mask indices, or (row, column) pairs in place. */
    private long[] holeIndex() {
        long[] flat = holes.toArray();
        if (!inPlace) {
            return flat;
        }
        long[] pairs = new long[2 * flat.length]; // [holes][2]
        for (int i = 0; i < flat.length; i++) {
            pairs[2 * i] = flat[i] / capacity;
            pairs[2 * i + 1] = flat[i] % capacity;
        }
        return pairs;
    }

    /** Runs new sequences in a batch of their own, then gathers them into the resident batch. */
    private void prefill(
            List<Extension> batch, List<Integer> fresh, int newTokens, NextTokens[] out) {
        int f = fresh.size();
        long[] inputIds = new long[f * newTokens]; // [f][newTokens]
        long[] positions = new long[f * newTokens]; // [f][newTokens]
        long[] maskNew = new long[f * newTokens]; // [f][newTokens]
        int[] rowOfMember = new int[f];
        List<Placement> placements = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                placements.add(new Placement(ids[r], 0, r, columns[r], lengths[r]));
            }
        }
        int longest = longestLive();
        for (int m = 0; m < f; m++) {
            Extension e = batch.get(fresh.get(m));
            rowOfMember[m] = m;
            int t = e.tokens().length;
            int[] cols = new int[t];
            for (int j = 0; j < t; j++) {
                int col = newTokens - t + j;
                inputIds[m * newTokens + col] = e.tokens()[j];
                positions[m * newTokens + col] = j;
                maskNew[m * newTokens + col] = 1;
                cols[j] = col;
            }
            placements.add(new Placement(e.sequenceId(), 1, m, cols, t));
            longest = Math.max(longest, t);
        }
        Pointer[] prefilled =
                forward(
                        inputIds,
                        positions,
                        maskNew,
                        new long[0],
                        f,
                        newTokens,
                        0,
                        null,
                        null,
                        batch,
                        fresh,
                        rowOfMember,
                        out);
        try {
            if (inPlace && kv != null && rows - rowOf.size() >= f && newTokens <= capacity) {
                join(batch, fresh, newTokens, prefilled);
            } else {
                relayout(
                        placements,
                        placements.size(),
                        longest,
                        0,
                        new Source(kv, rows, capacity),
                        new Source(prefilled, f, newTokens));
            }
        } finally {
            release(prefilled);
        }
    }

    /**
     * Puts prefilled sequences into free rows, in place: prefilled row {@code m} (its prompt of
     * {@code t} tokens left-padded to {@code newTokens}) lands in columns {@code [0, newTokens)} of
     * a free row, rotated so that the prompt takes columns {@code [0, t)} and the padding the holes
     * after it. The work is the prompts' size; the other rows are not touched.
     */
    private void join(
            List<Extension> batch, List<Integer> fresh, int newTokens, Pointer[] prefilled) {
        int f = fresh.size();
        int heads = signature.kvHeads();
        int[] target = new int[f]; // [f] the free row each prefilled row goes to
        int[] length = new int[f]; // [f] its prompt length
        for (int m = 0, r = 0; m < f; m++, r++) {
            while (ids[r] != null) {
                r++;
            }
            target[m] = r;
            length[m] = batch.get(fresh.get(m)).tokens().length;
        }
        long[] kvIndex = new long[f * heads * newTokens * 3]; // [f][heads][newTokens][3]
        long[] maskIndex = new long[f * newTokens * 2]; // [f][newTokens][2]
        long[] maskValues = new long[f * newTokens]; // [f][newTokens]
        for (int m = 0; m < f; m++) {
            for (int j = 0; j < newTokens; j++) {
                int column = (j + length[m]) % newTokens;
                for (int h = 0; h < heads; h++) {
                    int at = ((m * heads + h) * newTokens + j) * 3;
                    kvIndex[at] = target[m];
                    kvIndex[at + 1] = h;
                    kvIndex[at + 2] = column;
                }
                maskIndex[(m * newTokens + j) * 2] = target[m];
                maskIndex[(m * newTokens + j) * 2 + 1] = column;
                maskValues[m * newTokens + j] = column < length[m] ? 1 : 0;
            }
        }
        indexBuffer = OrtApiShim.fill(indexBuffer, kvIndex);
        long t0 = System.nanoTime();
        for (int i = 0; i < pastNames.length; i++) {
            kvScatter.scatter(
                    kv[i],
                    indexBuffer,
                    new long[] {f, heads, newTokens, 3},
                    prefilled[i],
                    cpuInfo,
                    allocator);
        }
        indexBuffer = OrtApiShim.fill(indexBuffer, maskIndex);
        maskValuesBuffer = OrtApiShim.fill(maskValuesBuffer, maskValues);
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
                (long) Long.BYTES * (kvIndex.length + maskIndex.length + maskValues.length);
        // The mask of those columns is set now: holes still pending there would clear it.
        Set<Integer> joined = new HashSet<>();
        for (int r : target) {
            joined.add(r);
        }
        LongList pending = new LongList();
        for (long hole : holes.toArray()) {
            boolean rewritten =
                    joined.contains((int) (hole / capacity)) && hole % capacity < newTokens;
            if (!rewritten) {
                pending.add(hole);
            }
        }
        holes = pending;
        for (int m = 0; m < f; m++) {
            int r = target[m];
            ids[r] = batch.get(fresh.get(m)).sequenceId();
            rowOf.put(ids[r], r);
            lengths[r] = length[m];
            ensureColumns(r, length[m]);
            for (int j = 0; j < length[m]; j++) {
                columns[r][j] = j;
            }
        }
        // The next pass writes after every column just written.
        width = Math.max(width, newTokens);
    }

    /**
     * One model run over a batch of {@code batchRows} rows with past {@code past} (null: empty);
     * reads the logits of {@code members} (batch indices, at rows {@code rowOfMember}) into {@code
     * out} and returns the {@code present} values, which the caller owns. In place, the new columns
     * are written at {@code writeAt} of {@code past} and {@code maskPast} themselves (the returned
     * values are handles onto them), except that a mask not yet where the caches live comes back as
     * a new value there.
     */
    private Pointer[] forward(
            long[] inputIds,
            long[] positions,
            long[] maskNew,
            long[] maskHoles,
            int batchRows,
            int newTokens,
            int writeAt,
            Pointer[] past,
            Pointer maskPast,
            List<Extension> batch,
            List<Integer> members,
            int[] rowOfMember,
            NextTokens[] out) {
        cachesBound = false; // this pass binds everything itself, and clears it
        List<Pointer> inputs = new ArrayList<>();
        Pointer[] outputs = null;
        try {
            bindPassInputs(
                    inputIds, positions, maskNew, maskHoles, batchRows, newTokens, writeAt, inputs);
            boolean written = inPlace && past != null;
            Pointer empty = null;
            if (past == null) {
                // In place, a first pass writes every column of a buffer just wide enough.
                empty =
                        ort.createTensor(
                                inPlace ? kvAllocator : allocator,
                                new long[] {
                                    batchRows,
                                    signature.kvHeads(),
                                    inPlace ? newTokens : 0,
                                    signature.headDim()
                                },
                                kvType);
                inputs.add(empty);
            }
            for (int i = 0; i < pastNames.length; i++) {
                ort.bindInput(binding, pastNames[i], past == null ? empty : past[i]);
            }
            if (maskPast == null) {
                int columns = inPlace ? newTokens : 0;
                inputs.add(
                        ort.createTensor(
                                allocator, new long[] {batchRows, columns}, OrtApiShim.INT64));
                maskPast = last(inputs);
                if (columns > 0) {
                    long[] zeros = new long[batchRows * columns];
                    ort.tensorData(maskPast).write(0, zeros, 0, zeros.length);
                }
            }
            ort.bindInput(binding, ResidentMask.PAST, maskPast);
            ort.clearBoundOutputs(binding);
            // The logits stay where they were computed; the reducer takes out what is needed.
            ort.bindOutputToDevice(binding, DecoderSignature.LOGITS, kvMemory());
            for (int i = 0; i < presentNames.length; i++) {
                if (written) {
                    ort.bindOutput(binding, presentNames[i], past[i]);
                } else {
                    ort.bindOutputToDevice(binding, presentNames[i], kvMemory());
                }
            }
            if (written && maskResident) {
                ort.bindOutput(binding, ResidentMask.PRESENT, maskPast);
            } else {
                ort.bindOutputToDevice(binding, ResidentMask.PRESENT, kvMemory());
            }
            run(inputIds, positions, maskNew, maskHoles);
            outputs = ort.boundOutputValues(binding, allocator);
            if (outputs.length != 2 + presentNames.length) {
                throw new IllegalStateException(
                        "expected "
                                + (2 + presentNames.length)
                                + " outputs, got "
                                + outputs.length);
            }
            long[] logitsShape = ort.shape(outputs[0]); // [batchRows][newTokens][vocab]
            reduce(
                    outputs[0],
                    Math.toIntExact(logitsShape[2]),
                    batchRows,
                    newTokens,
                    batch,
                    members,
                    rowOfMember,
                    out);
            Pointer[] presents = Arrays.copyOfRange(outputs, 1, outputs.length);
            ort.releaseValue(outputs[0]);
            outputs = null;
            return presents;
        } finally {
            if (outputs != null) {
                release(outputs);
            }
            ort.clearBoundInputs(binding);
            for (Pointer p : inputs) {
                ort.releaseValue(p);
            }
        }
    }

    private void reduce(
            Pointer logits,
            int vocab,
            int batchRows,
            int newTokens,
            List<Extension> batch,
            List<Integer> members,
            int[] rowOfMember,
            NextTokens[] out) {
        int wanted = 0;
        int full = 0;
        for (int b : members) {
            Extension e = batch.get(b);
            wanted += e.returned();
            full += e.greedy() ? 0 : e.returned();
        }
        long[] rowsWanted = new long[wanted]; // [w] row of logits [batchRows * newTokens][vocab]
        int[] fullRows = new int[full]; // [s] index into rowsWanted
        int w = 0;
        int f = 0;
        for (int m = 0; m < members.size(); m++) {
            Extension e = batch.get(members.get(m));
            int first = rowOfMember[m] * newTokens + newTokens - e.returned();
            for (int j = 0; j < e.returned(); j++) {
                if (!e.greedy()) {
                    fullRows[f++] = w;
                }
                rowsWanted[w++] = first + j;
            }
        }
        if (wanted == 0) {
            for (int b : members) {
                out[b] = NextTokens.NONE;
            }
            return;
        }
        long t0 = System.nanoTime();
        LogitsReducer.Reduced reduced =
                reducer.reduce(
                        logits,
                        (long) batchRows * newTokens,
                        vocab,
                        kvMemory(),
                        rowsWanted,
                        fullRows,
                        cpuInfo,
                        allocator);
        if (reducer.usesGraph()) {
            traffic.modelNanos += System.nanoTime() - t0;
            traffic.runs++;
        }
        traffic.logitBytesOut += reduced.bytesOut();
        w = 0;
        f = 0;
        for (int b : members) {
            Extension e = batch.get(b);
            int n = e.returned();
            int[] argmax = new int[n];
            float[] best = new float[n];
            float[] second = new float[n];
            float[][] rows = e.greedy() ? null : new float[n][];
            for (int j = 0; j < n; j++, w++) {
                argmax[j] = (int) reduced.argmax()[w];
                best[j] = reduced.best()[w];
                second[j] = reduced.second()[w];
                if (rows != null) {
                    rows[j] = reduced.logProbs()[f++];
                }
            }
            out[b] = new NextTokens(rows, argmax, best, second);
        }
    }

    /**
     * Before a pass of {@code newTokens} with {@code fresh} new sequences: compacts the batch when
     * holes make it much wider than its longest sequence, and resizes it when there are too few
     * free rows or too many.
     */
    private void makeRoom(int fresh, int newTokens) {
        int live = rowOf.size();
        int needed = live + fresh;
        int longest = longestLive();
        boolean grow = needed > rows;
        boolean shrink = rows - needed > Math.max(1, needed / 4);
        boolean wide = width + newTokens > MAX_WIDTH_FACTOR * (longest + newTokens) + SLACK;
        boolean full = inPlace && kv != null && width + newTokens > capacity;
        if (grow || shrink || wide || full) {
            List<Placement> placements = new ArrayList<>();
            for (int r = 0; r < rows; r++) {
                if (ids[r] != null) {
                    placements.add(new Placement(ids[r], 0, r, columns[r], lengths[r]));
                }
            }
            relayout(placements, needed, longest, newTokens, new Source(kv, rows, capacity));
        }
    }

    private int longestLive() {
        int longest = 0;
        for (int r = 0; r < rows; r++) {
            if (ids[r] != null) {
                longest = Math.max(longest, lengths[r]);
            }
        }
        return longest;
    }

    /** Where a row of a new layout comes from: a source batch, its row there, its columns. */
    private record Placement(String id, int source, int row, int[] columns, int length) {}

    /** Caches to gather from: {@code [2 * layers]} values {@code [rows][heads][width][headDim]}. */
    private record Source(Pointer[] kv, int rows, int width) {
        boolean empty() {
            return kv == null || rows == 0 || width == 0;
        }
    }

    /**
     * Replaces the resident batch by {@code newRows} rows of {@code newWidth} columns in use: row
     * {@code i} holds {@code placements[i]}'s cached columns packed to the left, the rows after the
     * placements are free. In place, the caches get room for at least {@code reserve} more columns
     * (and a quarter of their width), so the next passes write without a relayout. Runs one gather
     * per cache tensor, on the caches' device.
     */
    private void relayout(
            List<Placement> placements, int newRows, int newWidth, int reserve, Source... sources) {
        int heads = signature.kvHeads();
        List<Source> used = new ArrayList<>(); // sources with data, in order
        int[] slot = new int[sources.length]; // source -> index in used, or -1
        long[] base = new long[sources.length]; // source -> first row in the joined data
        long joinedRows = 0;
        for (int s = 0; s < sources.length; s++) {
            slot[s] = -1;
            if (!sources[s].empty()) {
                slot[s] = used.size();
                used.add(sources[s]);
                base[s] = joinedRows;
                joinedRows += (long) sources[s].rows() * heads * sources[s].width();
            }
        }
        Pointer[] packed = null;
        Pointer[] owners = null;
        int newCapacity = newWidth;
        if (inPlace) {
            int headroom = Math.max(MIN_HEADROOM, (int) (HEADROOM_FACTOR * newWidth));
            newCapacity = newWidth + Math.max(reserve, headroom);
        }
        if (!used.isEmpty() && newWidth > 0) {
            long n = (long) newRows * heads * newCapacity;
            int cells = newRows * newCapacity;
            // columns [newRows][newWidth], starts [newRows], strides [newRows], 0 .. heads - 1
            long[] index = new long[cells + 2 * newRows + heads];
            for (int nr = 0; nr < placements.size(); nr++) {
                Placement p = placements.get(nr);
                Source source = sources[p.source()];
                if (slot[p.source()] < 0 || p.length() == 0) {
                    continue; // row 0 of the joined data: computed, so finite
                }
                index[cells + nr] = base[p.source()] + (long) p.row() * heads * source.width();
                index[cells + newRows + nr] = source.width();
                int at = nr * newCapacity;
                for (int i = 0; i < newCapacity; i++) {
                    // Padding repeats a computed column, so every hole stays finite.
                    index[at + i] = p.columns()[Math.min(i, p.length() - 1)];
                }
            }
            for (int h = 0; h < heads; h++) {
                index[cells + 2 * newRows + h] = h;
            }
            indexBuffer = OrtApiShim.fill(indexBuffer, index);
            traffic.compactionIndexBytes += (long) Long.BYTES * index.length;
            KvGather gather = used.size() == 1 ? gather1 : gather2;
            long[] dataRows = new long[used.size()];
            for (int u = 0; u < used.size(); u++) {
                Source s = used.get(u);
                dataRows[u] = (long) s.rows() * heads * s.width();
            }
            packed = new Pointer[pastNames.length];
            owners = new Pointer[pastNames.length];
            try {
                long[] shape = {newRows, heads, newCapacity, signature.headDim()};
                for (int i = 0; i < pastNames.length; i++) {
                    Pointer[] data = new Pointer[used.size()];
                    for (int u = 0; u < used.size(); u++) {
                        data[u] = used.get(u).kv()[i];
                    }
                    long t0 = System.nanoTime();
                    owners[i] =
                            gather.gather(
                                    data,
                                    dataRows,
                                    signature.headDim(),
                                    indexBuffer,
                                    newRows,
                                    newCapacity,
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
        } else {
            newWidth = 0;
            newCapacity = 0;
        }
        releaseCaches();
        kv = packed;
        kvOwners = owners;
        mask = newWidth == 0 ? null : packedMask(placements, newRows, newCapacity);
        maskResident = deviceInfo == null;
        String[] newIds = new String[newRows];
        int[] newLengths = new int[newRows];
        int[][] newColumns = new int[newRows][];
        rowOf.clear();
        for (int nr = 0; nr < newRows; nr++) {
            newColumns[nr] = new int[0];
            if (nr < placements.size()) {
                Placement p = placements.get(nr);
                newIds[nr] = p.id();
                newLengths[nr] = p.length();
                int[] packedColumns = new int[Math.max(16, 2 * p.length())];
                for (int i = 0; i < p.length(); i++) {
                    packedColumns[i] = i;
                }
                newColumns[nr] = packedColumns;
                rowOf.put(p.id(), nr);
            }
        }
        ids = newIds;
        lengths = newLengths;
        columns = newColumns;
        rows = newRows;
        width = newWidth;
        capacity = newCapacity;
        traffic.compactions++;
    }

    /**
     * The mask of a freshly packed batch, in host memory (the next pass takes it where the caches
     * live): row {@code i} has its placement's length of leading ones. Sent once per relayout, like
     * the gather index.
     */
    private Pointer packedMask(List<Placement> placements, int newRows, int newWidth) {
        Pointer value =
                ort.createTensor(allocator, new long[] {newRows, newWidth}, OrtApiShim.INT64);
        long[] packed = new long[newRows * newWidth]; // [newRows][newWidth]
        for (int nr = 0; nr < placements.size(); nr++) {
            java.util.Arrays.fill(
                    packed, nr * newWidth, nr * newWidth + placements.get(nr).length(), 1L);
        }
        ort.tensorData(value).write(0, packed, 0, packed.length);
        traffic.compactionIndexBytes += (long) Long.BYTES * packed.length;
        return value;
    }

    private void ensureColumns(int r, int needed) {
        if (columns[r].length < needed) {
            columns[r] = Arrays.copyOf(columns[r], Math.max(16, 2 * needed));
        }
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
            for (int i = length; i < lengths[r]; i++) {
                holes.add((long) r * capacity + columns[r][i]);
            }
            lengths[r] = length;
        }
    }

    /** Frees the sequence's row for the next new sequence; unknown ids are ignored. */
    public void release(String id) {
        Integer r = rowOf.remove(id);
        if (r != null) {
            for (int i = 0; i < lengths[r]; i++) {
                holes.add((long) r * capacity + columns[r][i]);
            }
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

    /** Columns allocated per row: the width, plus room to write into when in place. */
    public int capacity() {
        return capacity;
    }

    /** Bytes the resident caches occupy (holes and room included). */
    public long cacheBytes() {
        return 2L
                * signature.layers()
                * rows
                * signature.kvHeads()
                * capacity
                * signature.headDim()
                * signature.kvElementBytes();
    }

    /** The address of the first layer's key cache (for tests); null while empty. */
    Pointer cacheData() {
        return kv == null ? null : ort.tensorData(kv[0]);
    }

    /** Where the caches live, e.g. {@code Cpu:0} or {@code Cuda:0}; null while empty. */
    public String cacheLocation() {
        return kv == null ? null : ort.location(kv[0]);
    }

    @Override
    public void close() {
        releaseCaches();
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

    private Pointer kvMemory() {
        return deviceInfo == null ? cpuInfo : deviceInfo;
    }

    private void releaseCaches() {
        // Views first: each one reads memory its owner holds.
        release(kv);
        release(kvOwners);
        if (mask != null) {
            ort.releaseValue(mask);
        }
        kv = null;
        kvOwners = null;
        mask = null;
        holes = new LongList();
        cachesBound = false;
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

    /** A growable list of longs (hole indices arrive one by one). */
    private static final class LongList {
        private long[] values = new long[16];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, 2 * size);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
