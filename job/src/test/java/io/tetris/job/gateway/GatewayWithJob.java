package io.tetris.job.gateway;

import io.tetris.job.Topology;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.SharedKafka;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.TetrisConfig;
import java.time.Duration;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A running job (local Flink, the shared embedded Kafka, fresh topics of its own) with the gateway
 * in front of it, serving {@code model}: what the tests of the gateway and of its clients run
 * against.
 */
final class GatewayWithJob implements AutoCloseable {

    final KafkaClientSettings kafka;
    final TopicNames topics;
    final Gateway gateway;
    private final JobClient job;

    private GatewayWithJob(
            KafkaClientSettings kafka, TopicNames topics, JobClient job, Gateway gateway) {
        this.kafka = kafka;
        this.topics = topics;
        this.job = job;
        this.gateway = gateway;
    }

    /**
     * @param name names the topics, the consumer group and the job
     * @param conf the job's configuration
     */
    static GatewayWithJob start(String name, Configuration conf, String model) throws Exception {
        KafkaClientSettings kafka = SharedKafka.settings();
        TopicNames topics = SharedKafka.freshTopics(name, 1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        env.enableCheckpointing(300);
        Topology.build(
                env,
                TetrisConfig.from(conf),
                new Topology.Io(kafka, topics, name, name + "-" + UUID.randomUUID()));
        JobClient job = env.executeAsync(name + "-it");
        Gateway gateway;
        try {
            gateway =
                    Gateway.start(
                            GatewayConfig.of(0, model, Duration.ofSeconds(90)), kafka, topics);
        } catch (RuntimeException e) {
            job.cancel().get();
            throw e;
        }
        return new GatewayWithJob(kafka, topics, job, gateway);
    }

    @Override
    public void close() throws Exception {
        try {
            gateway.close();
        } finally {
            job.cancel().get();
        }
    }
}
