package io.tetris.schemas;

import java.util.Locale;

/** Formatting of raw bytes for error messages. */
final class Bytes {

    private Bytes() {}

    /** The first {@code max} bytes as {@code 0x7B 0x22 ...}, with "..." when there are more. */
    static String hexPrefix(byte[] bytes, int max) {
        StringBuilder out = new StringBuilder();
        int n = Math.min(bytes.length, max);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                out.append(' ');
            }
            out.append(String.format(Locale.ROOT, "0x%02X", bytes[i] & 0xFF));
        }
        if (bytes.length > max) {
            out.append(" ...");
        }
        return out.toString();
    }
}
