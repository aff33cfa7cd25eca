package io.tetris.job.kafka;

import io.tetris.schemas.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.flink.util.function.SerializableSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes one of the job's output records to a fixed topic: the value in Avro single-object encoding
 * ({@link SingleObjectCodec#encode}), the key the record's request id as UTF-8, or no key when the
 * id is unknown (an error for an undecodable request). Keying by request id keeps all records of a
 * request in one partition, in order, which is what lets clients read a request's token events in
 * sequence. The partition is left to the producer's key hash.
 *
 * <p>The record's Kafka timestamp is the time it is written (the producer's clock), never the
 * stream timestamp, which for most outputs is the request's own: a restart finds what the job wrote
 * after a checkpoint by time ({@code AnsweredResults}).
 *
 * <p>The codec is not serializable, so the schema carries a serializable supplier of it (a
 * reference to one of the codec constants) and looks it up again on the task manager.
 *
 * @param <T> the generated Avro record class
 */
public final class AvroRecordSerializer<T extends SpecificRecord>
        implements KafkaRecordSerializationSchema<T> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final SerializableSupplier<SingleObjectCodec<T>> codecSupplier;
    private final SerializableFunction<T, String> requestIdOf;

    private transient SingleObjectCodec<T> codec;

    /**
     * @param topic the topic every record goes to
     * @param codecSupplier returns the value codec, e.g. {@code () -> SingleObjectCodec.RESULT}
     * @param requestIdOf the record's request id, or {@code null} for a record without a key
     */
    public AvroRecordSerializer(
            String topic,
            SerializableSupplier<SingleObjectCodec<T>> codecSupplier,
            SerializableFunction<T, String> requestIdOf) {
        if (topic == null || topic.isBlank()) {
            throw new IllegalArgumentException("topic must not be blank");
        }
        this.topic = topic;
        this.codecSupplier = Objects.requireNonNull(codecSupplier, "codecSupplier");
        this.requestIdOf = Objects.requireNonNull(requestIdOf, "requestIdOf");
    }

    /** The topic records are written to. */
    public String topic() {
        return topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            T element, KafkaSinkContext context, Long timestamp) {
        if (codec == null) {
            codec = codecSupplier.get();
        }
        String requestId = requestIdOf.apply(element);
        byte[] key = requestId == null ? null : requestId.getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(topic, null, null, key, codec.encode(element));
    }
}
