package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaITCase {

    @Test
    void createsTheFourTopicsOnceWithTheRequestedPartitions() throws Exception {
        EmbeddedKafka kafka = SharedKafka.broker();
        TopicNames topics = TopicNames.withPrefix("embedded-create");

        assertThat(kafka.createTopics(topics, 3)).containsExactlyInAnyOrderElementsOf(topics.all());
        assertThat(kafka.createTopics(topics, 5)).isEmpty(); // idempotent, existing ones kept

        try (Admin admin = Admin.create(kafka.clientSettings().adminProperties())) {
            Map<String, TopicDescription> described =
                    admin.describeTopics(topics.all()).allTopicNames().get(10, TimeUnit.SECONDS);
            assertThat(described).containsOnlyKeys(topics.all());
            assertThat(described.values()).allSatisfy(d -> assertThat(d.partitions()).hasSize(3));
        }
        assertThat(kafka.bootstrapServers()).matches("[^:,]+:\\d+");
    }

    @Test
    void closeStopsTheBrokerAndDeletesItsDirectory() {
        Path dir;
        try (EmbeddedKafka second = EmbeddedKafka.start(Map.of("num.partitions", "2"))) {
            dir = second.baseDirectory();
            assertThat(dir).isDirectory();
            assertThat(second.bootstrapServers())
                    .isNotEqualTo(SharedKafka.broker().bootstrapServers());
            assertThat(second.toString()).contains(second.bootstrapServers());
        }
        assertThat(Files.exists(dir)).isFalse();
    }
}
