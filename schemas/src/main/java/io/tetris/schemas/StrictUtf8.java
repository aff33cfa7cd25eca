package io.tetris.schemas;

/**
 * Strict UTF-8 well-formedness check (RFC 3629: no overlong forms, no encoded surrogates, nothing
 * above U+10FFFF).
 *
 * <p>Needed because both Avro and {@code new String(bytes, UTF_8)} silently replace bad bytes with
 * U+FFFD: only the codec still sees the raw bytes, so only it can report {@link
 * ErrorCode#INVALID_UTF8} instead of passing on a corrupted prompt.
 */
final class StrictUtf8 {

    private StrictUtf8() {}

    /**
     * Index of the first byte in {@code bytes[offset, offset + length)} that starts an ill-formed
     * (or incomplete) sequence, or -1 when the range is well-formed UTF-8.
     */
    static int firstInvalid(byte[] bytes, int offset, int length) {
        int i = offset;
        int end = offset + length;
        while (i < end) {
            int b = bytes[i] & 0xFF;
            if (b < 0x80) {
                i++;
                continue;
            }
            int continuation;
            int secondLow = 0x80;
            int secondHigh = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                continuation = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                continuation = 2;
                if (b == 0xE0) {
                    secondLow = 0xA0; // overlong
                } else if (b == 0xED) {
                    secondHigh = 0x9F; // UTF-16 surrogates
                }
            } else if (b >= 0xF0 && b <= 0xF4) {
                continuation = 3;
                if (b == 0xF0) {
                    secondLow = 0x90; // overlong
                } else if (b == 0xF4) {
                    secondHigh = 0x8F; // above U+10FFFF
                }
            } else {
                return i;
            }
            if (end - i <= continuation) {
                return i;
            }
            for (int k = 1; k <= continuation; k++) {
                int c = bytes[i + k] & 0xFF;
                int low = k == 1 ? secondLow : 0x80;
                int high = k == 1 ? secondHigh : 0xBF;
                if (c < low || c > high) {
                    return i;
                }
            }
            i += continuation + 1;
        }
        return -1;
    }

    /** Index of the first unpaired UTF-16 surrogate in {@code s}, or -1 when there is none. */
    static int firstUnpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }
}
