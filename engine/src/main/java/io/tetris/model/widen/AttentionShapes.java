package io.tetris.model.widen;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The reshapes that split the hidden state into attention heads and join the heads again, in the
 * two exports widening knows. Each target shape is a Concat of the dynamic batch and token counts
 * (B, T) and constants; the constant that counts heads, or the joined width, is multiplied by m,
 * and the head size and the query heads per KV head stay:
 *
 * <ul>
 *   <li>[B, T, n, head size]: a projection split into n heads (both exports; n is the query heads
 *       or the KV heads);
 *   <li>[B, n, T, head size]: the query heads' outputs (Llama-style, {@code make_llama.py});
 *   <li>[B, kv heads, group, T, head size]: the query heads in groups of {@code group} per KV head,
 *       query head h reading KV head h / group (Llama-style grouped-query attention);
 *   <li>[B, T, width]: the heads joined to the hidden width (Llama-style);
 *   <li>[B, T, width] from three dynamic parts: unchanged (the GPT-style {@code make_models.py}).
 * </ul>
 *
 * <p>Widening repeats the query projection's columns, all heads, m times ([q_0..q_H-1] x m) and the
 * KV projections' likewise ([kv_0..kv_G-1] x m), so widened query head a·H + h reads widened KV
 * head (a·H + h) / group = a·G + h / group, copy a of the KV head it read before: the grouping, and
 * so the group size, are unchanged, with m times the heads and KV heads.
 */
final class AttentionShapes {

    private final int m;
    private final int kvHeads;
    private final int headDim;
    private final Function<String, TensorProto> constant;
    private final Map<String, TensorProto> rewritten;
    private final Set<String> kept = new HashSet<>();
    private int outputHeads = -1;
    private final Set<Long> splits = new HashSet<>();
    private final List<Long> groups = new ArrayList<>();
    private final List<Long> widths = new ArrayList<>();

    /**
     * @param kvHeads the KV heads of the cache inputs
     * @param headDim the head size of the cache inputs
     * @param constant a Constant node's tensor by its output, null for a computed value
     * @param rewritten where the widened constants go, by output name
     */
    AttentionShapes(
            int m,
            int kvHeads,
            int headDim,
            Function<String, TensorProto> constant,
            Map<String, TensorProto> rewritten) {
        this.m = m;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.constant = constant;
        this.rewritten = rewritten;
    }

    /** Rewrites the shape {@code concat} gives {@code reshape}, or says it is not recognised. */
    void reshape(NodeProto reshape, NodeProto concat) {
        if (concat == null || !concat.getOpType().equals("Concat")) {
            throw new IllegalStateException(
                    "Reshape '" + reshape.getName() + "' to a shape not built by a Concat");
        }
        int n = concat.getInputCount();
        long[] parts = new long[n]; // -1: dynamic
        StringBuilder pattern = new StringBuilder();
        for (int i = 0; i < n; i++) {
            parts[i] = value(concat.getInput(i));
            pattern.append(parts[i] < 0 ? 'd' : 'c');
        }
        switch (pattern.toString()) {
            case "ddcc" -> {
                head(reshape, concat, parts, 3);
                splits.add(parts[2]);
                scale(concat, 2);
            }
            case "dcdc" -> {
                head(reshape, concat, parts, 3);
                if (outputHeads >= 0 && outputHeads != parts[1]) {
                    throw unrecognised(reshape, parts, "other heads than " + outputHeads);
                }
                outputHeads = (int) parts[1];
                scale(concat, 1);
            }
            case "dccdc" -> {
                head(reshape, concat, parts, 4);
                if (parts[1] != kvHeads) {
                    throw unrecognised(reshape, parts, "its groups are not the KV heads");
                }
                groups.add(parts[2]);
                scale(concat, 1);
                keep(concat, 2);
            }
            case "ddc" -> {
                widths.add(parts[2]);
                scale(concat, 2);
            }
            case "ddd" -> {}
            default -> throw unrecognised(reshape, parts, "no known layout");
        }
    }

    /**
     * The query heads: those of the heads' outputs where the graph has them, else the most a
     * projection is split into; checked against the KV heads, groups and joined widths seen.
     */
    int heads() {
        int heads =
                outputHeads >= 0
                        ? outputHeads
                        : (int) splits.stream().mapToLong(Long::longValue).max().orElse(-1);
        if (heads < 0) {
            throw new IllegalStateException("no attention heads found");
        }
        for (long split : splits) {
            if (split != heads && split != kvHeads) {
                throw new IllegalStateException(
                        "a projection split into "
                                + split
                                + " heads, neither the "
                                + heads
                                + " query heads nor the "
                                + kvHeads
                                + " KV heads");
            }
        }
        if (heads % kvHeads != 0) {
            throw new IllegalStateException(
                    heads + " query heads do not share " + kvHeads + " KV heads evenly");
        }
        for (long group : groups) {
            if (group * kvHeads != heads) {
                throw new IllegalStateException(
                        "query heads grouped "
                                + group
                                + " per KV head, but "
                                + heads
                                + " query heads and "
                                + kvHeads
                                + " KV heads");
            }
        }
        for (long width : widths) {
            if (width != (long) heads * headDim) {
                throw new IllegalStateException(
                        "heads joined to width " + width + ", not " + heads + " x " + headDim);
            }
        }
        return heads;
    }

    private void head(NodeProto reshape, NodeProto concat, long[] parts, int at) {
        if (parts[at] != headDim) {
            throw unrecognised(reshape, parts, "its head size is not the caches' " + headDim);
        }
        keep(concat, at);
    }

    /** Constant {@code at} of {@code concat} times m (once, however many shapes share it). */
    private void scale(NodeProto concat, int at) {
        String name = concat.getInput(at);
        if (kept.contains(name)) {
            throw new IllegalStateException(
                    "constant '" + name + "' is both a head count and a size that stays");
        }
        if (!rewritten.containsKey(name)) {
            TensorProto t = constant.apply(name);
            rewritten.put(name, TensorData.longTensor(t, new long[] {TensorData.longs(t)[0] * m}));
        }
    }

    private void keep(NodeProto concat, int at) {
        String name = concat.getInput(at);
        if (rewritten.containsKey(name)) {
            throw new IllegalStateException(
                    "constant '" + name + "' is both a head count and a size that stays");
        }
        kept.add(name);
    }

    /** A one-number int64 constant's value, or -1 when {@code name} is computed. */
    private long value(String name) {
        TensorProto t = constant.apply(name);
        if (t == null) {
            return -1;
        }
        long[] v = TensorData.longs(t); // the source's value, also when already rewritten
        if (t.getDataType() != TensorProto.DataType.INT64_VALUE || v.length != 1 || v[0] < 0) {
            throw new IllegalStateException("shape part '" + name + "' is not one dimension");
        }
        return v[0];
    }

    private static IllegalStateException unrecognised(NodeProto reshape, long[] parts, String why) {
        return new IllegalStateException(
                "the shape "
                        + Arrays.toString(parts).replace("-1", "?")
                        + " of Reshape '"
                        + reshape.getName()
                        + "' is not recognised ("
                        + why
                        + ")");
    }
}
