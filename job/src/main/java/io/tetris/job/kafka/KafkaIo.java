package io.tetris.job.kafka;

import io.tetris.operators.output.ErrorSizeGuard;
import io.tetris.operators.output.KafkaRecordSize;
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
 * Every sink's producer gets the same {@code max.request.size} ({@link #maxRecordBytes}), the limit
 * the topology's size guards hold each record to, so a sink is never handed a record it cannot
 * write.
 */
public final class KafkaIo {

    /**
     * Transaction timeout of the exactly-once sink. Flink's default (1 hour) exceeds the broker's
     * default {@code transaction.max.timeout.ms} (15 minutes), which makes every transactional
     * producer fail at start; 10 minutes stays under it and still outlives many checkpoints.
     */
    public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofMinutes(10);

    private KafkaIo() {}

    /**
     * The largest record the sinks write, in bytes: their producers' {@code max.request.size},
     * which the job's size guards hold every output record to. It is the value given in the
     * pass-through Kafka properties, else Kafka's default of 1 MiB, which brokers accept by
     * default; the job never raises it by itself, because a broker that refuses a record the
     * producer sent fails the sink just the same.
     *
     * @throws IllegalArgumentException if the given value is not a number of at least {@link
     *     ErrorSizeGuard#MIN_MAX_RECORD_BYTES}
     */
    public static int maxRecordBytes(KafkaClientSettings settings) {
        String given = settings.properties().get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (given == null) {
            return KafkaRecordSize.KAFKA_DEFAULT_MAX_REQUEST_SIZE;
        }
        int value;
        try {
            value = Integer.parseInt(given.strip());
        } catch (NumberFormatException e) {
            value = -1;
        }
        if (value < ErrorSizeGuard.MIN_MAX_RECORD_BYTES) {
            throw new IllegalArgumentException(
                    "Kafka property "
                            + ProducerConfig.MAX_REQUEST_SIZE_CONFIG
                            + " = '"
                            + given
                            + "' must be a number of bytes of at least "
                            + ErrorSizeGuard.MIN_MAX_RECORD_BYTES
                            + " (the default, 1048576, suits brokers with default settings)");
        }
        return value;
    }

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
     * The pass-through properties plus {@code max.request.size}, set even when it is Kafka's
     * default: the size guards rely on this exact value.
     */
    static Properties sinkProperties(KafkaClientSettings settings) {
        Properties props = settings.commonProperties();
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(maxRecordBytes(settings)));
        // Token events stream to users: each goes out at once, not after Kafka's 5 ms linger.
        props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
        return props;
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
        Properties props = sinkProperties(settings);
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
