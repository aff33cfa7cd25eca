package io.tetris.model.ortnative;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Pointer;
import io.tetris.model.DecoderSignature;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.ModelTraffic;
import io.tetris.model.NextTokens;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The KV caches of many sequences kept resident where the model runs, as one batch: per layer one
 * key and one value tensor {@code [rows][kvHeads][width][headDim]}, owned by ONNX Runtime. Each run
 * binds them as {@code past_key_values.*} through IoBinding, so a cache is never copied to the Java
 * heap. The attention mask stays with the caches ({@link ResidentMask}) and the logits are reduced
 * where they lie ({@link LogitsReducer}), so a pass moves the new token ids and mask columns in,
 * and the argmax (or the rows a sampled sequence needs) out.
 *
 * <p>How a pass's new keys and values reach the caches is the subclass's: {@link InPlaceKvBatch}
 * writes them into the caches (graphs {@link SharedKvRewrite} knows), {@link ConcatKvBatch} keeps
 * each pass's {@code present.*} outputs as the next batch (any Optimum-style export).
 *
 * <p>Every sequence owns a row, and its cached tokens are columns of it ({@link KvRows}); the other
 * columns are holes the mask hides. Position ids carry each token's place in its sequence, so a
 * hole changes nothing but the amount of attention work. When holes would make the batch much wider
 * than its longest sequence, or rows must be added or dropped, {@link KvGather} packs each row's
 * cached columns to the left, on the model's own device: amortised over the runs between two
 * compactions this is a constant amount of work per token, whatever the context length.
 *
 * <p>Holes must hold finite values, since masked attention weights are zero and {@code 0 * NaN} is
 * not: they always do, because every column was computed by a run or copied from a computed column.
 *
 * <p>Not thread-safe, like the model that owns it.
 */
public abstract sealed class ResidentKvBatch implements AutoCloseable
        permits InPlaceKvBatch, ConcatKvBatch {

    final ResidentSession session;
    final DecoderSignature signature;
    final KvRows layout = new KvRows();
    Pointer[] kv; // [2 * layers] values [rows][heads][capacity][headDim]; null when width == 0
    Pointer mask; // [rows][capacity] int64, 1 for a cached column; null when empty
    private Pointer[] kvOwners; // [2 * layers] gather outputs that kv views; null if none

    ResidentKvBatch(ResidentSession session) {
        this.session = session;
        this.signature = session.signature;
    }

    /**
     * Creates the session for {@code model}, parsed from {@code onnxFile} (whose folder holds any
     * external data), and a batch over it that owns the session: with {@code inPlace} and a graph
     * {@link SharedKvRewrite} knows, passes write into the caches; otherwise the attention mask is
     * made resident ({@link ResidentMask}) and each pass's {@code present} outputs become the
     * caches; with {@code packRows} the weight products skip the padding ({@link PackedRows}). Call
     * on a large-stack thread.
     *
     * @param kvDevice ORT memory-info name for the caches ({@code "Cuda"}), or null for CPU memory
     * @param deviceId the device index for {@code kvDevice}
     * @param logitsGraph reduce logits with the graph even in CPU memory (as a device does)
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
            ResidentSession resident =
                    new ResidentSession(
                            ort,
                            session,
                            sessionOptions,
                            signature,
                            kvDevice,
                            deviceId,
                            logitsGraph);
            return shared != null ? new InPlaceKvBatch(resident) : new ConcatKvBatch(resident);
        } catch (RuntimeException e) {
            try {
                session.close();
            } catch (ai.onnxruntime.OrtException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Whether passes write into the caches ({@link SharedKvRewrite}) rather than copy them. */
    public abstract boolean inPlace();

    /** Columns to allocate when a relayout packs the batch to {@code width} columns in use. */
    abstract int capacityFor(int width, int reserve);

    /** Whether a pass of {@code newTokens} would not fit the columns allocated. */
    abstract boolean full(int newTokens);

    /** Runs {@code pass} over the resident batch and takes over what it returns. */
    abstract void pass(PassInputs pass, List<Extension> batch, NextTokens[] out);

    /** The holes to clear in the next pass, as the graph takes them. */
    abstract long[] holeIndex();

    abstract long[] holeShape(long[] holeIndex);

    /** Binds what the graph takes besides the pass's own inputs, for a pass writing at a column. */
    abstract void bindLayoutInputs(int writeAt, List<Pointer> inputs);

    /** Columns of the empty caches and mask a pass without a past gets. */
    abstract int firstPassColumns(int newTokens);

    /**
     * Takes prefilled sequences (the caches {@code prefilled}, one row each) into the batch; {@code
     * placements} lists the live rows, then the prefilled ones.
     */
    abstract void merge(
            List<Extension> batch,
            List<Integer> fresh,
            int newTokens,
            Pointer[] prefilled,
            List<Placement> placements,
            int longest);

    /**
     * The binding no longer holds the caches (a general pass cleared it, or they were replaced).
     */
    void bindingCleared() {}

    /** A relayout left a new mask in host memory. */
    void maskReplaced() {}

    /** Counters since creation (live object; copy it to take a snapshot). */
    public ModelTraffic traffic() {
        return session.traffic;
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
            session.traffic.totalNanos += System.nanoTime() - started;
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
            if (layout.holds(e.sequenceId())) {
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
        if (layout.crowded(fresh.size(), newTokens) || full(newTokens)) {
            relayout(
                    layout.placements(),
                    layout.sequences() + fresh.size(),
                    layout.longestLive(),
                    newTokens,
                    resident());
        }
        for (int b : fresh) {
            layout.admit(batch.get(b).sequenceId());
        }
        List<Integer> members = new ArrayList<>(known);
        members.addAll(fresh);
        PassInputs pass = PassInputs.step(batch, members, layout, newTokens);
        pass(pass, batch, out);
        layout.appended(pass.rowOfMember(), pass.counts(batch), newTokens);
    }

    /** Runs new sequences in a batch of their own, then merges them into the resident batch. */
    private void prefill(
            List<Extension> batch, List<Integer> fresh, int newTokens, NextTokens[] out) {
        List<Placement> placements = layout.placements();
        int longest = layout.longestLive();
        for (int m = 0; m < fresh.size(); m++) {
            Extension e = batch.get(fresh.get(m));
            placements.add(Placement.prefilled(e.sequenceId(), m, e.tokens().length, newTokens));
            longest = Math.max(longest, e.tokens().length);
        }
        PassInputs pass = PassInputs.prefill(batch, fresh, newTokens);
        Pointer[] prefilled = forward(pass, new long[0], 0, null, null, false, false, batch, out);
        try {
            merge(batch, fresh, newTokens, prefilled, placements, longest);
        } finally {
            session.release(prefilled);
        }
    }

    /** Caches to gather from: {@code [2 * layers]} values {@code [rows][heads][width][headDim]}. */
    record Caches(Pointer[] kv, int rows, int width) {
        GatherPlan.Source shape() {
            return new GatherPlan.Source(rows, width, kv == null || rows == 0 || width == 0);
        }
    }

    /** The resident caches, as a source to gather from. */
    final Caches resident() {
        return new Caches(kv, layout.rows(), layout.capacity());
    }

    /**
     * Replaces the resident batch by {@code newRows} rows of {@code newWidth} columns in use: row
     * {@code i} holds {@code placements[i]}'s cached columns packed to the left, the rows after the
     * placements are free; {@link #capacityFor} says how many columns to allocate, given {@code
     * reserve} more to come. Runs one gather per cache tensor, on the caches' device.
     */
    final void relayout(
            List<Placement> placements, int newRows, int newWidth, int reserve, Caches... sources) {
        List<GatherPlan.Source> shapes = new ArrayList<>();
        for (Caches source : sources) {
            shapes.add(source.shape());
        }
        int newCapacity = capacityFor(newWidth, reserve);
        Pointer[][] gathered = null;
        if (shapes.stream().anyMatch(s -> !s.empty()) && newWidth > 0) {
            int heads = signature.kvHeads();
            GatherPlan plan = GatherPlan.of(placements, shapes, newRows, newCapacity, heads);
            List<Pointer[]> data = new ArrayList<>();
            long[] dataRows = new long[plan.used().length];
            for (int u = 0; u < dataRows.length; u++) {
                Caches source = sources[plan.used()[u]];
                data.add(source.kv());
                dataRows[u] = (long) source.rows() * heads * source.width();
            }
            gathered = session.gather(plan, data, dataRows, newRows, newCapacity);
        } else {
            newWidth = 0;
            newCapacity = 0;
        }
        releaseCaches();
        kv = gathered == null ? null : gathered[0];
        kvOwners = gathered == null ? null : gathered[1];
        mask =
                newWidth == 0
                        ? null
                        : session.hostMask(
                                GatherPlan.packedMask(placements, newRows, newCapacity),
                                newRows,
                                newCapacity);
        maskReplaced();
        layout.relaidOut(placements, newRows, newWidth, newCapacity);
        session.traffic.compactions++;
    }

    /** Makes a general pass's {@code present} outputs the resident caches. */
    final void adoptPresents(Pointer[] presents, int width) {
        releaseCaches();
        kv = Arrays.copyOf(presents, session.pastNames.length);
        mask = presents[session.pastNames.length];
        layout.capacity(width);
    }

    /**
     * One general model run over the rows of {@code pass} with past {@code past} (null: empty);
     * reduces the logits of its members into {@code out} and returns the {@code present} values
     * (caches, then mask), which the caller owns. With {@code written}, the new columns are written
     * at {@code writeAt} of {@code past} itself (the returned values are handles onto it), and with
     * {@code maskWritten} likewise into {@code maskPast}.
     */
    final Pointer[] forward(
            PassInputs pass,
            long[] holeIndex,
            int writeAt,
            Pointer[] past,
            Pointer maskPast,
            boolean written,
            boolean maskWritten,
            List<Extension> batch,
            NextTokens[] out) {
        OrtApiShim ort = session.ort;
        Pointer binding = session.binding;
        String[] pastNames = session.pastNames;
        String[] presentNames = session.presentNames;
        bindingCleared(); // this pass binds everything itself, and clears it
        List<Pointer> inputs = new ArrayList<>();
        Pointer[] outputs = null;
        try {
            session.bindPassInputs(pass, holeIndex, holeShape(holeIndex), inputs);
            bindLayoutInputs(writeAt, inputs);
            int columns = firstPassColumns(pass.newTokens());
            Pointer empty = null;
            if (past == null) {
                empty =
                        ort.createTensor(
                                columns > 0 ? session.kvAllocator : session.allocator,
                                new long[] {
                                    pass.rows(), signature.kvHeads(), columns, signature.headDim()
                                },
                                session.kvType);
                inputs.add(empty);
            }
            for (int i = 0; i < pastNames.length; i++) {
                ort.bindInput(binding, pastNames[i], past == null ? empty : past[i]);
            }
            if (maskPast == null) {
                inputs.add(
                        ort.createTensor(
                                session.allocator,
                                new long[] {pass.rows(), columns},
                                OrtApiShim.INT64));
                maskPast = ResidentSession.last(inputs);
                if (columns > 0) {
                    long[] zeros = new long[pass.rows() * columns];
                    ort.tensorData(maskPast).write(0, zeros, 0, zeros.length);
                }
            }
            ort.bindInput(binding, ResidentMask.PAST, maskPast);
            ort.clearBoundOutputs(binding);
            // The logits stay where they were computed; the reducer takes out what is needed.
            ort.bindOutputToDevice(binding, DecoderSignature.LOGITS, session.kvMemory());
            for (int i = 0; i < presentNames.length; i++) {
                if (written) {
                    ort.bindOutput(binding, presentNames[i], past[i]);
                } else {
                    ort.bindOutputToDevice(binding, presentNames[i], session.kvMemory());
                }
            }
            if (maskWritten) {
                ort.bindOutput(binding, ResidentMask.PRESENT, maskPast);
            } else {
                ort.bindOutputToDevice(binding, ResidentMask.PRESENT, session.kvMemory());
            }
            session.run(pass, holeIndex);
            outputs = ort.boundOutputValues(binding, session.allocator);
            if (outputs.length != 2 + presentNames.length) {
                throw new IllegalStateException(
                        "expected "
                                + (2 + presentNames.length)
                                + " outputs, got "
                                + outputs.length);
            }
            long[] logitsShape = ort.shape(outputs[0]); // [rows][newTokens][vocab]
            session.reduce(outputs[0], Math.toIntExact(logitsShape[2]), pass, batch, out);
            Pointer[] presents = Arrays.copyOfRange(outputs, 1, outputs.length);
            ort.releaseValue(outputs[0]);
            outputs = null;
            return presents;
        } finally {
            if (outputs != null) {
                session.release(outputs);
            }
            ort.clearBoundInputs(binding);
            for (Pointer p : inputs) {
                ort.releaseValue(p);
            }
        }
    }

    /** Tokens cached for {@code id}; 0 when unknown. */
    public int cachedLength(String id) {
        return layout.cachedLength(id);
    }

    /** Keeps the first {@code length} cached tokens; the rest become holes. */
    public void truncate(String id, int length) {
        layout.truncate(id, length);
    }

    /** Frees the sequence's row for the next new sequence; unknown ids are ignored. */
    public void release(String id) {
        layout.release(id);
    }

    /** Sequences holding a row. */
    public int sequences() {
        return layout.sequences();
    }

    /** Rows and columns of the resident batch (for tests and the bench). */
    public int rows() {
        return layout.rows();
    }

    public int width() {
        return layout.width();
    }

    /** Columns allocated per row: the width, plus room to write into when in place. */
    public int capacity() {
        return layout.capacity();
    }

    /** Bytes the resident caches occupy (holes and room included). */
    public long cacheBytes() {
        return 2L
                * signature.layers()
                * layout.rows()
                * signature.kvHeads()
                * layout.capacity()
                * signature.headDim()
                * signature.kvElementBytes();
    }

    /** The address of the first layer's key cache (for tests); null while empty. */
    Pointer cacheData() {
        return kv == null ? null : session.ort.tensorData(kv[0]);
    }

    /** Where the caches live, e.g. {@code Cpu:0} or {@code Cuda:0}; null while empty. */
    public String cacheLocation() {
        return kv == null ? null : session.ort.location(kv[0]);
    }

    @Override
    public void close() {
        releaseCaches();
        session.close();
    }

    final void releaseCaches() {
        // Views first: each one reads memory its owner holds.
        session.release(kv);
        session.release(kvOwners);
        if (mask != null) {
            session.ort.releaseValue(mask);
        }
        kv = null;
        kvOwners = null;
        mask = null;
        layout.clearHoles();
        bindingCleared();
    }
}
