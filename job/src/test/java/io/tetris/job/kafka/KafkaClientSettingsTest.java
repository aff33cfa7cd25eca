package io.tetris.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KafkaClientSettingsTest {

    private static final String JAAS =
            "org.apache.kafka.common.security.plain.PlainLoginModule required"
                    + " username=\"alice\" password=\"s3cr3t-jaas\";";

    @TempDir Path dir;

    @Test
    void parsesKeyValueEntriesWhoseValuesContainEquals() {
        KafkaClientSettings settings =
                KafkaClientSettings.parse(
                        "broker:9092",
                        null,
                        List.of("security.protocol=SASL_SSL", "sasl.jaas.config=" + JAAS));

        assertThat(settings.bootstrapServers()).isEqualTo("broker:9092");
        assertThat(settings.properties())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.jaas.config", JAAS);
    }

    @Test
    void entriesOverrideTheFileAndTheFileMayNameTheBootstrapServers() throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(
                file,
                "bootstrap.servers=from-file:9092\nsecurity.protocol=SSL\nlinger.ms=5\n",
                StandardCharsets.UTF_8);

        KafkaClientSettings fromFile =
                KafkaClientSettings.parse(null, file, List.of("linger.ms=20"));
        KafkaClientSettings explicit = KafkaClientSettings.parse("explicit:9092", file, List.of());

        assertThat(fromFile.bootstrapServers()).isEqualTo("from-file:9092");
        assertThat(fromFile.properties())
                .containsEntry("security.protocol", "SSL")
                .containsEntry("linger.ms", "20")
                .doesNotContainKey("bootstrap.servers");
        assertThat(explicit.bootstrapServers()).isEqualTo("explicit:9092");
    }

    @Test
    void missingBootstrapServersAndBadInputAreClearErrors() {
        assertThatThrownBy(() -> KafkaClientSettings.parse(null, null, List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bootstrap servers are required");
        assertThatThrownBy(
                        () ->
                                KafkaClientSettings.parse(
                                        "b:1", null, List.of("acks=all", "hunter2-no-key")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("entry #2")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> KafkaClientSettings.parse("b:1", null, List.of("=value")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KafkaClientSettings.parse("b:1", dir.resolve("absent"), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot read the Kafka properties file");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "sasl.jaas.config",
                "ssl.key.password",
                "ssl.keystore.password",
                "ssl.truststore.password",
                "ssl.keystore.key",
                "SASL.JAAS.CONFIG",
                "sasl.oauthbearer.client.credentials.client.secret",
                "basic.auth.user.info",
                "api.key",
                "access_token",
                "my-private-key",
                "database.passphrase"
            })
    void secretKeys(String key) {
        assertThat(KafkaClientSettings.isSecret(key)).as(key).isTrue();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "security.protocol",
                "sasl.mechanism",
                "key.serializer",
                "key.deserializer",
                "ssl.keystore.location",
                "ssl.keystore.type",
                "ssl.keymanager.algorithm",
                "ssl.endpoint.identification.algorithm",
                "sasl.oauthbearer.token.endpoint.url",
                "partitioner.ignore.keys",
                "linger.ms"
            })
    void plainKeys(String key) {
        assertThat(KafkaClientSettings.isSecret(key)).as(key).isFalse();
    }

    @Test
    void describeAndToStringNeverShowSecretValues() {
        KafkaClientSettings settings =
                KafkaClientSettings.parse(
                        "broker:9093",
                        null,
                        List.of(
                                "security.protocol=SASL_SSL",
                                "sasl.mechanism=PLAIN",
                                "sasl.jaas.config=" + JAAS,
                                "ssl.truststore.location=/etc/kafka/truststore.jks",
                                "ssl.truststore.password=trust-pass-42",
                                "ssl.key.password=key-pass-43"));

        for (String text : List.of(settings.describe(), settings.toString())) {
            assertThat(text)
                    .contains("bootstrap.servers=broker:9093")
                    .contains("security.protocol=SASL_SSL")
                    .contains("sasl.mechanism=PLAIN")
                    .contains("ssl.truststore.location=/etc/kafka/truststore.jks")
                    .contains("sasl.jaas.config=" + KafkaClientSettings.MASK)
                    .contains("ssl.truststore.password=" + KafkaClientSettings.MASK)
                    .doesNotContain("s3cr3t-jaas")
                    .doesNotContain("alice")
                    .doesNotContain("trust-pass-42")
                    .doesNotContain("key-pass-43");
        }
        // The clients still get the real values.
        assertThat(settings.producerProperties().getProperty("ssl.key.password"))
                .isEqualTo("key-pass-43");
    }

    @Test
    void producerPropertiesForceByteArraysButKeepUserTuning() {
        KafkaClientSettings settings =
                KafkaClientSettings.parse(
                        "b:1",
                        null,
                        List.of("acks=1", "key.serializer=com.example.Wrong", "linger.ms=7"));

        Properties props = settings.producerProperties();

        assertThat(props)
                .containsEntry("bootstrap.servers", "b:1")
                .containsEntry("acks", "1")
                .containsEntry("linger.ms", "7")
                .containsEntry("enable.idempotence", "true")
                .containsEntry("key.serializer", ByteArraySerializer.class.getName())
                .containsEntry("value.serializer", ByteArraySerializer.class.getName());
        assertThat(KafkaClientSettings.of("b:1").producerProperties()).containsEntry("acks", "all");
    }

    @Test
    void consumerPropertiesReadCommittedWithoutAutoCommit() {
        KafkaClientSettings settings =
                KafkaClientSettings.parse(
                        "b:1",
                        null,
                        List.of(
                                "isolation.level=read_uncommitted",
                                "enable.auto.commit=true",
                                "group.id=theirs"));

        Properties grouped = settings.consumerProperties("mine");
        Properties groupless = settings.consumerProperties(null);

        assertThat(grouped)
                .containsEntry("group.id", "mine")
                .containsEntry("isolation.level", "read_committed")
                .containsEntry("enable.auto.commit", "false")
                .containsEntry("key.deserializer", ByteArrayDeserializer.class.getName())
                .containsEntry("value.deserializer", ByteArrayDeserializer.class.getName());
        assertThat(groupless).doesNotContainKey("group.id");
        assertThat(settings.adminProperties()).containsEntry("bootstrap.servers", "b:1");
    }

    @Test
    void isSerializableForFlink() throws Exception {
        KafkaClientSettings settings =
                KafkaClientSettings.of("b:1").withProperty("security.protocol", "SSL");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(settings);
        }
        Object copy;
        try (ObjectInputStream in =
                new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = in.readObject();
        }

        assertThat(copy).isEqualTo(settings).hasSameHashCodeAs(settings);
    }
}
