package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.operators.output.KafkaRecordSize;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

class KafkaIoTest {

    private static final KafkaClientSettings SETTINGS =
            KafkaClientSettings.of("localhost:9092").withProperty("security.protocol", "PLAINTEXT");

    @Test
    void requestSourceIsUnboundedAndProducesRawRecords() throws Exception {
        KafkaSource<RawRecord> source =
                KafkaIo.requestSource(SETTINGS, TopicNames.defaults(), "tetris-job");

        assertThat(source.getBoundedness()).isEqualTo(Boundedness.CONTINUOUS_UNBOUNDED);
        assertThat(source.getProducedType().getTypeClass()).isEqualTo(RawRecord.class);
        assertThat(InstantiationUtil.clone(source)).isNotNull();
        assertThatThrownBy(() -> KafkaIo.requestSource(SETTINGS, TopicNames.defaults(), " "))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sinksBuildForEachGuarantee() {
        TopicNames topics = TopicNames.defaults();

        assertThat(KafkaIo.tokenSink(SETTINGS, topics)).isNotNull();
        assertThat(KafkaIo.errorSink(SETTINGS, topics)).isNotNull();
        assertThat(KafkaIo.resultSink(SETTINGS, topics, "tetris-results")).isNotNull();
        assertThat(
                        KafkaIo.sink(
                                SETTINGS,
                                KafkaIo.results(topics.results()),
                                DeliveryGuarantee.NONE,
                                null))
                .isNotNull();
    }

    @Test
    void theSinksWriteRecordsUpToKafkasDefaultOrTheGivenMaxRequestSize() {
        assertThat(KafkaIo.maxRecordBytes(SETTINGS)).isEqualTo(1 << 20);
        assertThat(KafkaIo.sinkProperties(SETTINGS))
                .containsEntry(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(1 << 20));
        KafkaClientSettings raised =
                SETTINGS.withProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, " 5000000");
        assertThat(KafkaIo.maxRecordBytes(raised)).isEqualTo(5_000_000);
        assertThat(KafkaIo.sinkProperties(raised))
                .containsEntry(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "5000000");
        for (String bad : List.of("100", "lots")) {
            assertThatThrownBy(
                            () ->
                                    KafkaIo.maxRecordBytes(
                                            SETTINGS.withProperty(
                                                    ProducerConfig.MAX_REQUEST_SIZE_CONFIG, bad)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("max.request.size = '" + bad + "'")
                    .hasMessageContaining("at least 4096");
        }
    }

    /**
     * The guards' measure is never below the producer's, so a record they pass is never refused.
     */
    @Test
    void theGuardsRecordSizeIsAtLeastTheProducersEstimate() {
        for (String key : new String[] {null, "", "r-1", "\u20AC\uD83D\uDE80".repeat(5000)}) {
            for (int valueBytes : new int[] {0, 1, 127, 128, 16_383, 16_384, 1 << 20}) {
                byte[] value = new byte[valueBytes];
                byte[] keyBytes = key == null ? null : key.getBytes(StandardCharsets.UTF_8);
                for (CompressionType compression : CompressionType.values()) {
                    int producer =
                            AbstractRecords.estimateSizeInBytesUpperBound(
                                    RecordBatch.CURRENT_MAGIC_VALUE,
                                    compression,
                                    keyBytes,
                                    value,
                                    Record.EMPTY_HEADERS);
                    assertThat(KafkaRecordSize.of(key, value))
                            .as("key %s, %d value bytes, %s", key == null, valueBytes, compression)
                            .isGreaterThanOrEqualTo(producer);
                }
            }
        }
    }

    @Test
    void exactlyOnceNeedsATransactionalIdPrefix() {
        assertThatThrownBy(() -> KafkaIo.resultSink(SETTINGS, TopicNames.defaults(), ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("transactional id prefix");
    }
}
