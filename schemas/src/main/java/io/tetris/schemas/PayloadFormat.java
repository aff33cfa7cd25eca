package io.tetris.schemas;

/**
 * The wire format of a request value, told apart by its first bytes. Both formats can share one
 * topic because they cannot be confused: Avro single-object values start with {@code 0xC3 0x01},
 * which is not valid UTF-8 and hence never the start of a JSON text.
 */
public enum PayloadFormat {
    /** Starts with {@code 0xC3 0x01} (or is just {@code 0xC3}, a truncated header). */
    AVRO_SINGLE_OBJECT,
    /** Starts with <code>{</code> after optional JSON whitespace and an optional UTF-8 BOM. */
    JSON,
    /** Anything else, including null and empty values. */
    UNKNOWN;

    /** Detects the format of {@code value}; never throws. */
    public static PayloadFormat of(byte[] value) {
        if (value == null || value.length == 0) {
            return UNKNOWN;
        }
        if (value[0] == SingleObjectCodec.MAGIC_0
                && (value.length == 1 || value[1] == SingleObjectCodec.MAGIC_1)) {
            return AVRO_SINGLE_OBJECT;
        }
        int i = 0;
        if (value.length >= 3
                && value[0] == (byte) 0xEF
                && value[1] == (byte) 0xBB
                && value[2] == (byte) 0xBF) {
            i = 3;
        }
        while (i < value.length
                && (value[i] == ' ' || value[i] == '\t' || value[i] == '\n' || value[i] == '\r')) {
            i++;
        }
        return i < value.length && value[i] == '{' ? JSON : UNKNOWN;
    }
}
