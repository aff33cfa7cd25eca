package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.util.InstantiationUtil;
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
    void exactlyOnceNeedsATransactionalIdPrefix() {
        assertThatThrownBy(() -> KafkaIo.resultSink(SETTINGS, TopicNames.defaults(), ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("transactional id prefix");
    }
}
