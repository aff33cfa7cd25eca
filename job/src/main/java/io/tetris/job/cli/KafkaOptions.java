package io.tetris.job.cli;

import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.TopicNames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Options that locate an existing Kafka cluster and the job's topics. */
final class KafkaOptions {

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT[,...]",
            description = "Kafka brokers (or bootstrap.servers in --kafka-config).")
    String bootstrapServers;

    @Option(
            names = "--kafka-config",
            paramLabel = "FILE",
            description =
                    "Java properties file of Kafka client settings, e.g. security.protocol,"
                            + " sasl.*, ssl.* (secrets are never logged).")
    Path kafkaConfig;

    @Option(
            names = "--kafka-property",
            paramLabel = "KEY=VALUE",
            description = "A Kafka client setting; overrides --kafka-config (repeatable).")
    List<String> kafkaProperties = new ArrayList<>();

    @Option(
            names = "--requests-topic",
            description = "Requests topic (default: ${DEFAULT-VALUE}).",
            defaultValue = TopicNames.DEFAULT_REQUESTS)
    String requests;

    @Option(
            names = "--tokens-topic",
            description = "Token events topic (default: ${DEFAULT-VALUE}).",
            defaultValue = TopicNames.DEFAULT_TOKENS)
    String tokens;

    @Option(
            names = "--results-topic",
            description = "Results topic (default: ${DEFAULT-VALUE}).",
            defaultValue = TopicNames.DEFAULT_RESULTS)
    String results;

    @Option(
            names = "--errors-topic",
            description = "Errors topic (default: ${DEFAULT-VALUE}).",
            defaultValue = TopicNames.DEFAULT_ERRORS)
    String errors;

    KafkaClientSettings settings() {
        return KafkaClientSettings.parse(bootstrapServers, kafkaConfig, kafkaProperties);
    }

    TopicNames topics() {
        return new TopicNames(requests, tokens, results, errors);
    }
}
