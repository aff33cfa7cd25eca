package io.tetris.job.cli;

import io.tetris.job.Topology;
import io.tetris.job.kafka.EmbeddedKafka;
import io.tetris.job.kafka.GenerationClient;
import io.tetris.job.kafka.ResponseListener;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.GenerationRequest;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The job on a local Flink against an in-process broker, as the demo and the benchmarks run it.
 * Closing cancels the job and stops the broker.
 */
final class EmbeddedJob implements AutoCloseable {

    private final EmbeddedKafka kafka;
    private final TopicNames topics = TopicNames.defaults();
    private final JobClient job;

    private EmbeddedJob(EmbeddedKafka kafka, JobClient job) {
        this.kafka = kafka;
        this.job = job;
    }

    /** Starts the broker and the job, then waits for a one-token request to come back. */
    static EmbeddedJob start(
            Configuration conf, TetrisConfig config, long checkpointIntervalMs, String name)
            throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start();
        try {
            kafka.createTopics(TopicNames.defaults(), config.batch().replicas());
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(config.batch().replicas());
            env.enableCheckpointing(checkpointIntervalMs);
            Topology.build(
                    env,
                    config,
                    new Topology.Io(
                            kafka.clientSettings(),
                            TopicNames.defaults(),
                            name,
                            name + "-" + UUID.randomUUID()));
            EmbeddedJob started = new EmbeddedJob(kafka, env.executeAsync(name));
            started.warmUp();
            return started;
        } catch (Exception | Error e) {
            kafka.close();
            throw e;
        }
    }

    /** Restarts of this job's decode loop so far. */
    int restarts() {
        return io.tetris.operators.loop.TaskAttempts.restartsObserved(job.getJobID().toString());
    }

    /** A client reading from the current end of the response topics. */
    GenerationClient client(ResponseListener listener) {
        GenerationClient client = GenerationClient.open(kafka.clientSettings(), topics, listener);
        // A job that fails for good (a model that cannot run, say) answers nothing more.
        job.getJobExecutionResult()
                .whenComplete(
                        (result, failure) -> {
                            if (failure != null) {
                                client.jobFailed(failure);
                            }
                        });
        return client;
    }

    /**
     * One one-token request, so model loading and the first checkpoint are not counted in what is
     * measured afterwards.
     */
    private void warmUp() throws Exception {
        try (GenerationClient client = client(ResponseListener.ignoring())) {
            String id = "warm-up";
            client.send(
                    GenerationRequest.newBuilder()
                            .setRequestId(id)
                            .setPrompt("Hi")
                            .setMaxNewTokens(1)
                            .build());
            client.awaitAll(Set.of(id), Duration.ofMinutes(5));
        }
    }

    @Override
    public void close() throws Exception {
        try {
            job.cancel().get();
        } finally {
            kafka.close();
        }
    }
}
