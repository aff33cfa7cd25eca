package io.tetris.model;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inputs and outputs of an Optimum-style decoder export, found by name in the ONNX graph so
 * that any layer count and any (grouped) KV head layout loads without code changes: {@code
 * input_ids}, {@code attention_mask}, optional {@code position_ids} and {@code
 * past_key_values.N.key/value} in; {@code logits} and {@code present.N.key/value} out.
 *
 * @param layers transformer layers (KV pairs)
 * @param kvHeads key/value heads per layer
 * @param headDim size of one head
 * @param vocab logits width, or -1 when the graph leaves it dynamic
 * @param positionIds whether the graph takes {@code position_ids}
 * @param kvType element type of the caches: {@code FLOAT} or {@code FLOAT16}
 * @param logitsType element type of the logits: {@code FLOAT} or {@code FLOAT16}
 * @param useCacheBranch whether the graph is a merged decoder with a {@code use_cache_branch} input
 *     (the runner always takes the branch with a past; see {@code ortnative.ExportAdapter})
 * @param externalData whether weights live in external-data files beside the model
 */
public record DecoderSignature(
        int layers,
        int kvHeads,
        int headDim,
        int vocab,
        boolean positionIds,
        DataType kvType,
        DataType logitsType,
        boolean useCacheBranch,
        boolean externalData) {

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String POSITION_IDS = "position_ids";
    public static final String LOGITS = "logits";
    public static final String USE_CACHE_BRANCH = "use_cache_branch";

    /** Bytes of one cache element. */
    public int kvElementBytes() {
        return elementBytes(kvType);
    }

    /** Bytes of one element of a cache type ({@code FLOAT} or {@code FLOAT16}). */
    public static int elementBytes(DataType type) {
        return type == DataType.FLOAT16 ? 2 : 4;
    }

    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    /** Reads the signature of {@code onnxFile}, failing with everything that is missing. */
    public static DecoderSignature read(Path onnxFile) {
        return of(parse(onnxFile), onnxFile.toString());
    }

    /**
     * The model in {@code onnxFile}, weights included unless they live in external data; parse it
     * once where it is also rewritten (a single-file model can be gigabytes).
     */
    public static OnnxMl.ModelProto parse(Path onnxFile) {
        try (InputStream in = Files.newInputStream(onnxFile)) {
            return OnnxMl.ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read ONNX model " + onnxFile, e);
        }
    }

    /**
     * The signature of a parsed model; {@code source} names it in messages. Weights in external
     * files are not read.
     */
    public static DecoderSignature of(OnnxMl.ModelProto model, String source) {
        OnnxMl.GraphProto graph = model.getGraph();
        Map<String, OnnxMl.ValueInfoProto> inputs = byName(graph.getInputList());
        Map<String, OnnxMl.ValueInfoProto> outputs = byName(graph.getOutputList());
        // Weights may be listed as graph inputs in old exports; they have initializers.
        graph.getInitializerList().forEach(init -> inputs.remove(init.getName()));

        List<String> missing = new ArrayList<>();
        requirePresent(inputs, INPUT_IDS, "input", missing);
        requirePresent(inputs, ATTENTION_MASK, "input", missing);
        requirePresent(outputs, LOGITS, "output", missing);
        int layers = 0;
        while (inputs.containsKey(pastKey(layers))) {
            layers++;
        }
        if (layers == 0) {
            missing.add("input " + pastKey(0) + " (no KV cache inputs)");
        }
        for (int l = 0; l < layers; l++) {
            requirePresent(inputs, pastValue(l), "input", missing);
            requirePresent(outputs, presentKey(l), "output", missing);
            requirePresent(outputs, presentValue(l), "output", missing);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(
                    "ONNX model "
                            + source
                            + " is not an Optimum-style decoder with KV cache; missing "
                            + String.join(", ", missing));
        }
        List<String> unknown = new ArrayList<>(inputs.keySet());
        unknown.remove(INPUT_IDS);
        unknown.remove(ATTENTION_MASK);
        unknown.remove(POSITION_IDS);
        unknown.remove(USE_CACHE_BRANCH);
        for (int l = 0; l < layers; l++) {
            unknown.remove(pastKey(l));
            unknown.remove(pastValue(l));
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                    "ONNX model "
                            + source
                            + " has inputs this runner cannot feed: "
                            + unknown
                            + " (export the decoder with past alone: optimum-cli task text-generation-with-past)");
        }
        OnnxMl.ValueInfoProto past = inputs.get(pastKey(0));
        DataType kvType = cacheType(past, source);
        for (int l = 0; l < layers; l++) {
            for (OnnxMl.ValueInfoProto kv :
                    List.of(
                            inputs.get(pastKey(l)),
                            inputs.get(pastValue(l)),
                            outputs.get(presentKey(l)),
                            outputs.get(presentValue(l)))) {
                if (cacheType(kv, source) != kvType) {
                    throw new IllegalArgumentException(
                            "ONNX model "
                                    + source
                                    + ": "
                                    + kv.getName()
                                    + " is "
                                    + cacheType(kv, source)
                                    + " but "
                                    + past.getName()
                                    + " is "
                                    + kvType
                                    + "; all caches need one element type");
                }
            }
        }
        DataType logitsType = elementType(outputs.get(LOGITS));
        if (logitsType != DataType.FLOAT && logitsType != DataType.FLOAT16) {
            throw new IllegalArgumentException(
                    "ONNX model "
                            + source
                            + ": logits are "
                            + logitsType
                            + "; only FLOAT and FLOAT16 logits are supported");
        }
        if (inputs.containsKey(USE_CACHE_BRANCH)
                && elementType(inputs.get(USE_CACHE_BRANCH)) != DataType.BOOL) {
            throw new IllegalArgumentException(
                    "ONNX model " + source + ": " + USE_CACHE_BRANCH + " must be a bool input");
        }
        int heads = staticDim(past, 1, "KV heads", source);
        int headDim = staticDim(past, 3, "head size", source);
        int vocab = dim(outputs.get(LOGITS), 2);
        return new DecoderSignature(
                layers,
                heads,
                headDim,
                vocab,
                inputs.containsKey(POSITION_IDS),
                kvType,
                logitsType,
                inputs.containsKey(USE_CACHE_BRANCH),
                graph.getInitializerList().stream()
                        .anyMatch(
                                t ->
                                        t.getDataLocation()
                                                == OnnxMl.TensorProto.DataLocation.EXTERNAL));
    }

    private static DataType elementType(OnnxMl.ValueInfoProto info) {
        DataType type = DataType.forNumber(info.getType().getTensorType().getElemType());
        return type == null ? DataType.UNDEFINED : type;
    }

    private static Map<String, OnnxMl.ValueInfoProto> byName(List<OnnxMl.ValueInfoProto> infos) {
        Map<String, OnnxMl.ValueInfoProto> out = new LinkedHashMap<>();
        infos.forEach(info -> out.put(info.getName(), info));
        return out;
    }

    private static void requirePresent(
            Map<String, OnnxMl.ValueInfoProto> map,
            String name,
            String kind,
            List<String> missing) {
        if (!map.containsKey(name)) {
            missing.add(kind + " " + name);
        }
    }

    private static DataType cacheType(OnnxMl.ValueInfoProto info, String file) {
        DataType type = elementType(info);
        if (type != DataType.FLOAT && type != DataType.FLOAT16) {
            throw new IllegalArgumentException(
                    "ONNX model "
                            + file
                            + ": KV cache "
                            + info.getName()
                            + " has element type "
                            + type
                            + "; only FLOAT (fp32) and FLOAT16 (fp16) caches are supported");
        }
        return type;
    }

    private static int staticDim(OnnxMl.ValueInfoProto info, int axis, String what, String file) {
        int d = dim(info, axis);
        if (d <= 0) {
            throw new IllegalArgumentException(
                    "ONNX model "
                            + file
                            + ": "
                            + info.getName()
                            + " must have a fixed "
                            + what
                            + " at axis "
                            + axis);
        }
        return d;
    }

    private static int dim(OnnxMl.ValueInfoProto info, int axis) {
        OnnxMl.TensorShapeProto shape = info.getType().getTensorType().getShape();
        if (shape.getDimCount() <= axis || !shape.getDim(axis).hasDimValue()) {
            return -1;
        }
        return Math.toIntExact(shape.getDim(axis).getDimValue());
    }
}
