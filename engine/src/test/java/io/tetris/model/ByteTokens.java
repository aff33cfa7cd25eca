package io.tetris.model;

import java.nio.charset.StandardCharsets;

/** Token ids of the bundled pair's byte-level vocabulary: one per UTF-8 byte, the byte's value. */
public final class ByteTokens {

    private ByteTokens() {}

    public static int[] of(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xFF;
        }
        return out;
    }
}
