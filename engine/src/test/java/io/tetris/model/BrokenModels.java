package io.tetris.model;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pair whose target loads (the signature is right, the session is created) but fails on its first
 * forward pass, as exports do whose operators a runtime version cannot run: its logits pass through
 * a reshape to rows of 7, which no batch of 257-wide rows fills.
 */
public final class BrokenModels {

    private BrokenModels() {}

    /** Writes draft.onnx, tokenizer.json and the broken target.onnx into {@code dir}. */
    public static Path pairWithBrokenTarget(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.copy(BundledModels.draft(), dir.resolve("draft.onnx"));
        Files.copy(BundledModels.tokenizer(), dir.resolve("tokenizer.json"));
        OnnxMl.ModelProto model;
        try (InputStream in = Files.newInputStream(BundledModels.target())) {
            model = OnnxMl.ModelProto.parseFrom(in);
        }
        OnnxMl.GraphProto.Builder graph = model.getGraph().toBuilder();
        for (OnnxMl.NodeProto.Builder node : graph.getNodeBuilderList()) {
            for (int i = 0; i < node.getOutputCount(); i++) {
                if (node.getOutput(i).equals(DecoderSignature.LOGITS)) {
                    node.setOutput(i, "logits.raw");
                }
            }
        }
        graph.addInitializer(
                        OnnxMl.TensorProto.newBuilder()
                                .setName("broken.rows_of_7")
                                .setDataType(DataType.INT64_VALUE)
                                .addDims(2)
                                .addInt64Data(-1)
                                .addInt64Data(7))
                .addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("Reshape")
                                .setName("broken.reshape")
                                .addInput("logits.raw")
                                .addInput("broken.rows_of_7")
                                .addOutput("logits.rows_of_7"))
                .addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("Shape")
                                .setName("broken.shape")
                                .addInput("logits.raw")
                                .addOutput("logits.shape"))
                .addNode(
                        OnnxMl.NodeProto.newBuilder()
                                .setOpType("Reshape")
                                .setName("broken.back")
                                .addInput("logits.rows_of_7")
                                .addInput("logits.shape")
                                .addOutput(DecoderSignature.LOGITS));
        Files.write(
                dir.resolve("target.onnx"),
                model.toBuilder().setGraph(graph).build().toByteArray());
        return dir;
    }
}
