package io.tetris.model.widen;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The values of an ONNX weight as floats, and a weight of the same element type from floats: fp32
 * kept as is, fp16 widened to float on reading and rounded to the nearest fp16 on writing, so the
 * arithmetic of widening (a division by m) happens in float for both. Weights kept in an external
 * data file are read from it.
 */
final class TensorData {

    private TensorData() {}

    /** Whether {@code t} holds weights widening rewrites: fp32 or fp16. */
    static boolean isWeight(TensorProto t) {
        return t.getDataType() == TensorProto.DataType.FLOAT_VALUE
                || t.getDataType() == TensorProto.DataType.FLOAT16_VALUE;
    }

    /**
     * {@code t} with its bytes in the model: read from the external data file beside the model in
     * {@code dir} when it is kept there, else {@code t}.
     */
    static TensorProto loaded(TensorProto t, Path dir) throws IOException {
        if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
            return t;
        }
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = Long.parseLong(e.getValue());
                case "length" -> length = Long.parseLong(e.getValue());
                default -> {}
            }
        }
        if (location == null) {
            throw new IllegalStateException("external weight '" + t.getName() + "' has no file");
        }
        try (RandomAccessFile file = new RandomAccessFile(dir.resolve(location).toFile(), "r")) {
            long size = length >= 0 ? length : file.length() - offset;
            if (size > Integer.MAX_VALUE) {
                throw new IllegalStateException("weight '" + t.getName() + "' is over 2 GB");
            }
            byte[] bytes = new byte[(int) size];
            file.seek(offset);
            file.readFully(bytes);
            return t.toBuilder()
                    .clearExternalData()
                    .clearDataLocation()
                    .setRawData(ByteString.copyFrom(bytes))
                    .build();
        }
    }

    /** The values of an fp32 or fp16 tensor whose bytes are in the model ({@link #loaded}). */
    static float[] floats(TensorProto t) {
        if (t.getDataType() == TensorProto.DataType.FLOAT16_VALUE) {
            if (t.getInt32DataCount() > 0) { // fp16 bit patterns, one per int32
                float[] v = new float[t.getInt32DataCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = Fp16Conversions.fp16ToFloat((short) t.getInt32Data(i));
                }
                return v;
            }
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[b.remaining() / 2];
            for (int i = 0; i < v.length; i++) {
                v[i] = Fp16Conversions.fp16ToFloat(b.getShort());
            }
            return v;
        }
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new IllegalStateException(
                    "weight '" + t.getName() + "' of element type " + t.getDataType());
        }
        if (t.getFloatDataCount() > 0) {
            float[] v = new float[t.getFloatDataCount()];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.getFloatData(i);
            }
            return v;
        }
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    /**
     * A tensor named and typed as {@code like} with {@code dims} and {@code values}: fp16 values
     * rounded to the nearest fp16 (exact for an fp16 weight divided by a power of two, unless it
     * falls below fp16's normal range).
     */
    static TensorProto like(TensorProto like, long[] dims, float[] values) {
        boolean half = like.getDataType() == TensorProto.DataType.FLOAT16_VALUE;
        ByteBuffer b =
                ByteBuffer.allocate(values.length * (half ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        if (half) {
            for (float v : values) {
                b.putShort(Fp16Conversions.floatToFp16(v));
            }
        } else {
            b.asFloatBuffer().put(values);
        }
        TensorProto.Builder t =
                TensorProto.newBuilder()
                        .setName(like.getName())
                        .setDataType(like.getDataType())
                        .setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    static long count(TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            n *= d;
        }
        return n;
    }

    static long[] longs(TensorProto t) {
        if (t.getInt64DataCount() > 0) {
            return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
        }
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] v = new long[b.remaining() / 8];
        b.asLongBuffer().get(v);
        return v;
    }

    static TensorProto longTensor(TensorProto like, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return like.toBuilder().clearInt64Data().setRawData(ByteString.copyFrom(b.array())).build();
    }
}
