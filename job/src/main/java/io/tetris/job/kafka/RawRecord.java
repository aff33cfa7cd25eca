package io.tetris.job.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One Kafka record of the requests topic exactly as it arrived: the job decodes and validates the
 * value itself, so an undecodable payload becomes a {@code GenerationError} on the errors topic
 * instead of an exception that fails the source and replays the poison record forever.
 *
 * <p>A Flink POJO (public no-arg constructor, public mutable fields of POJO-friendly types), so
 * Flink serializes it with its {@code PojoSerializer}, byte arrays included, and never falls back
 * to Kryo. {@code key} and {@code value} may be {@code null} (no key; a tombstone).
 */
public final class RawRecord {

    /** The topic the record was read from. */
    public String topic;

    public int partition;

    public long offset;

    /** The record's timestamp in milliseconds since the epoch (producer or log append time). */
    public long timestamp;

    /** The record key, usually the request id as UTF-8; may be {@code null}. */
    public byte[] key;

    /** The record value: Avro single-object or JSON; may be {@code null}. */
    public byte[] value;

    /** For Flink's POJO serializer. */
    public RawRecord() {}

    public RawRecord(
            String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.key = key;
        this.value = value;
    }

    /** The key decoded as UTF-8 (malformed bytes replaced), or {@code null} when there is none. */
    public String keyAsString() {
        return key == null ? null : new String(key, StandardCharsets.UTF_8);
    }

    /** {@code topic-partition@offset}, to name the record in error messages and logs. */
    public String position() {
        return topic + "-" + partition + "@" + offset;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RawRecord other
                && partition == other.partition
                && offset == other.offset
                && timestamp == other.timestamp
                && Objects.equals(topic, other.topic)
                && Arrays.equals(key, other.key)
                && Arrays.equals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset, timestamp)
                + 31 * Arrays.hashCode(key)
                + 961 * Arrays.hashCode(value);
    }

    /** Sizes only: values can be large, and a request's content does not belong in logs. */
    @Override
    public String toString() {
        return "RawRecord{"
                + position()
                + ", key="
                + (key == null ? "null" : key.length + " bytes")
                + ", value="
                + (value == null ? "null" : value.length + " bytes")
                + "}";
    }
}
