package io.tetris.job.kafka;

import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.TokenEvent;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Builds the job's Kafka source and sinks (DESIGN.md section 4): requests in as {@link RawRecord}s;
 * token events and errors out at-least-once; results out exactly-once through Kafka transactions.
 */
public final class KafkaIo {

    /**
     * Transaction timeout of the exactly-once sink. Flink's default (1 hour) exceeds the broker's
     * default {@code transaction.max.timeout.ms} (15 minutes), which makes every transactional
     * producer fail at start; 10 minutes stays under it and still outlives many checkpoints.
     */
    public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofMinutes(10);

    private KafkaIo() {}

    /** Token events keyed by request id. */
    public static AvroRecordSerializer<TokenEvent> tokenEvents(String topic) {
        return new AvroRecordSerializer<>(
                topic, () -> SingleObjectCodec.TOKEN_EVENT, TokenEvent::getRequestId);
    }

    /** Results keyed by request id. */
    public static AvroRecordSerializer<GenerationResult> results(String topic) {
        return new AvroRecordSerializer<>(
                topic, () -> SingleObjectCodec.RESULT, GenerationResult::getRequestId);
    }

    /** Errors keyed by request id, or without key when the id could not be read. */
    public static AvroRecordSerializer<GenerationError> errors(String topic) {
        return new AvroRecordSerializer<>(
                topic, () -> SingleObjectCodec.ERROR, GenerationError::getRequestId);
    }

    /**
     * The requests source. A new consumer group starts at the earliest offset, so requests sent
     * before the job's first start are served; afterwards the job resumes from its checkpointed
     * offsets, or (on a fresh start without a checkpoint) from the offsets it committed to Kafka at
     * its last checkpoint. It reads {@code read_committed}, so requests from aborted producer
     * transactions are never served.
     */
    @SuppressWarnings("deprecation") // OffsetResetStrategy: the connector's API still takes it
    public static KafkaSource<RawRecord> requestSource(
            KafkaClientSettings settings, TopicNames topics, String groupId) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(topics, "topics");
        if (groupId == null || groupId.isBlank()) {
            throw new IllegalArgumentException("the consumer group id must not be blank");
        }
        Properties props = settings.commonProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return KafkaSource.<RawRecord>builder()
                .setProperties(props)
                .setBootstrapServers(settings.bootstrapServers())
                .setTopics(topics.requests())
                .setGroupId(groupId)
                .setStartingOffsets(
                        OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawRecordDeserializer())
                .build();
    }

    /**
     * The token events sink: at-least-once (duplicates carry the same request id and seq), flushed
     * at each checkpoint, without a committer ({@link WriterOnlySink}).
     */
    public static Sink<TokenEvent> tokenSink(KafkaClientSettings settings, TopicNames topics) {
        return new WriterOnlySink<>(
                sink(
                        settings,
                        tokenEvents(topics.tokens()),
                        DeliveryGuarantee.AT_LEAST_ONCE,
                        null));
    }

    /** The errors sink: at-least-once, without a committer ({@link WriterOnlySink}). */
    public static Sink<GenerationError> errorSink(KafkaClientSettings settings, TopicNames topics) {
        return new WriterOnlySink<>(
                sink(settings, errors(topics.errors()), DeliveryGuarantee.AT_LEAST_ONCE, null));
    }

    /**
     * The results sink: exactly-once. Results become visible to {@code read_committed} readers when
     * the checkpoint that covers them completes, so the job must enable checkpointing.
     *
     * @param transactionalIdPrefix unique per job and cluster (two jobs sharing a prefix fence each
     *     other's transactions)
     */
    public static KafkaSink<GenerationResult> resultSink(
            KafkaClientSettings settings, TopicNames topics, String transactionalIdPrefix) {
        return sink(
                settings,
                results(topics.results()),
                DeliveryGuarantee.EXACTLY_ONCE,
                transactionalIdPrefix);
    }

    /**
     * A sink with the given guarantee.
     *
     * @param transactionalIdPrefix required for {@link DeliveryGuarantee#EXACTLY_ONCE}, ignored
     *     otherwise; Flink commits the transactions only on completed checkpoints
     */
    public static <T> KafkaSink<T> sink(
            KafkaClientSettings settings,
            KafkaRecordSerializationSchema<T> serializer,
            DeliveryGuarantee guarantee,
            String transactionalIdPrefix) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(serializer, "serializer");
        Objects.requireNonNull(guarantee, "guarantee");
        Properties props = settings.commonProperties();
        KafkaSinkBuilder<T> builder =
                KafkaSink.<T>builder()
                        .setBootstrapServers(settings.bootstrapServers())
                        .setRecordSerializer(serializer)
                        .setDeliveryGuarantee(guarantee);
        if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            if (transactionalIdPrefix == null || transactionalIdPrefix.isBlank()) {
                throw new IllegalArgumentException(
                        "an EXACTLY_ONCE sink needs a transactional id prefix");
            }
            props.putIfAbsent(
                    ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                    String.valueOf(DEFAULT_TRANSACTION_TIMEOUT.toMillis()));
            builder.setTransactionalIdPrefix(transactionalIdPrefix);
        }
        return builder.setKafkaProducerConfig(props).build();
    }
}
