package io.tetris.operators.output;

/**
 * The size of one output record as the Kafka producer measures it against {@code max.request.size}:
 * key, value and the record's framing. Kept free of Kafka classes so that the loop's modules do not
 * depend on the client.
 */
public final class KafkaRecordSize {

    /**
     * Kafka's default {@code max.request.size}; brokers accept records of this size by default
     * ({@code message.max.bytes} is 1 MiB + 12), so the job never asks for more unless told to.
     */
    public static final int KAFKA_DEFAULT_MAX_REQUEST_SIZE = 1 << 20;

    /**
     * Upper bound of what the producer adds to key and value in its size check (Kafka's {@code
     * DefaultRecordBatch.estimateBatchSizeUpperBound}): a v2 batch header of 61 bytes, at most 21
     * bytes of record header and two 5-byte length varints, rounded up.
     */
    public static final int OVERHEAD = 128;

    private KafkaRecordSize() {}

    /**
     * Bytes of a record keyed by {@code key} (as UTF-8, or no key when {@code null}) with {@code
     * value}, framing included; never less than the producer's own estimate.
     */
    public static long of(String key, byte[] value) {
        return utf8Length(key) + (long) value.length + OVERHEAD;
    }

    /** UTF-8 length of {@code s} (an unpaired surrogate counted as 3 bytes), 0 for {@code null}. */
    static long utf8Length(String s) {
        if (s == null) {
            return 0;
        }
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }
}
