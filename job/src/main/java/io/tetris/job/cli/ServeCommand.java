package io.tetris.job.cli;

import io.tetris.job.Topology;
import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.KafkaTopics;
import io.tetris.job.kafka.TopicNames;
import io.tetris.job.state.AnsweredResults;
import io.tetris.job.state.DurableState;
import io.tetris.job.state.KafkaIdentity;
import io.tetris.job.state.ResultTransactions;
import io.tetris.operators.config.TetrisConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The job against an existing Kafka. Run from a shell it executes on a local Flink (or, with {@code
 * --jobmanager}, is submitted to a remote cluster); as a cluster's application-mode entry point it
 * runs on that cluster.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Run the job against an existing Kafka: read requests, write token events, results"
                    + " (exactly-once) and errors. Runs on a local Flink unless --jobmanager is"
                    + " given or it is launched by a Flink cluster."
        })
final class ServeCommand implements Callable<Integer> {

    @Mixin EngineOptions engine;
    @Mixin KafkaOptions kafka;
    @Mixin StateCliOptions state;
    @Mixin SubmitOptions submit;

    @Option(
            names = "--group-id",
            description = "Consumer group of the request source (default: ${DEFAULT-VALUE}).",
            defaultValue = "tetris")
    String groupId;

    @Option(
            names = "--transactional-id-prefix",
            description =
                    "Prefix of the result producer's transactional ids; unique per job"
                            + " (default: ${DEFAULT-VALUE}).",
            defaultValue = "tetris-results")
    String transactionalIdPrefix;

    @Option(
            names = "--create-topics",
            description = "Create missing topics (with --partitions partitions) before starting.")
    boolean createTopics;

    @Option(
            names = "--partitions",
            description =
                    "Partitions of topics created by --create-topics (default: ${DEFAULT-VALUE}).",
            defaultValue = "4")
    int partitions;

    @Option(
            names = "--replication-factor",
            description =
                    "Replication of topics created by --create-topics (default: ${DEFAULT-VALUE}).",
            defaultValue = "1")
    short replicationFactor;

    @Option(
            names = "--jobmanager",
            paramLabel = "HOST:PORT",
            description = "Submit to this remote Flink cluster instead of running locally.")
    String jobManager;

    @Option(
            names = "--jar",
            paramLabel = "FILE",
            description = "The job jar with dependencies, shipped with --jobmanager.")
    Path jar;

    static final String PROMETHEUS_REPORTER =
            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";

    @Option(
            names = "--metrics-port",
            paramLabel = "PORT",
            description =
                    "Serve the job's metrics for Prometheus on this port (http://HOST:PORT/),"
                            + " with a local Flink; a cluster configures its own reporter.")
    Integer metricsPort;

    @Override
    public Integer call() throws Exception {
        Configuration conf = engine.configuration();
        state.applyTo(conf);
        if (metricsPort != null) {
            if (metricsPort < 1 || metricsPort > 65535) {
                throw new IllegalArgumentException(
                        "--metrics-port must be 1 to 65535, got " + metricsPort);
            }
            conf.setString("metrics.reporter.prom.factory.class", PROMETHEUS_REPORTER);
            conf.setString("metrics.reporter.prom.port", Integer.toString(metricsPort));
            // Else the reporter rewrites the +Inf bucket's le="+Inf" to "_Inf", which
            // histogram_quantile cannot parse: it returns NaN without a +Inf bucket.
            conf.setString("metrics.reporter.prom.filterLabelValueCharacters", "false");
            System.err.println("Metrics: http://localhost:" + metricsPort + "/metrics");
        }
        TetrisConfig.from(conf); // fails fast on bad settings, before anything is touched
        KafkaClientSettings settings = kafka.settings();
        TopicNames topics = kafka.topics();
        System.err.println("Kafka: " + settings.describe());
        String jobName =
                DurableState.jobName(
                        conf, DurableState.jobName(topics, groupId, transactionalIdPrefix));
        if (jobManager != null) {
            // Before the state is touched: the running job's checkpoints are in it.
            RunningJobs.requireNoneNamed(jobManager, jobName);
        }
        try (DurableState durable = DurableState.open(conf, jobName)) {
            if (createTopics) {
                KafkaTopics.ensureExist(
                        settings, topics, partitions, replicationFactor, Duration.ofSeconds(60));
            }
            KafkaIdentity identity = KafkaIdentity.of(settings, topics.all(), System.err);
            // Each try that fails to restore marks its checkpoint, so the next plan is older.
            while (true) {
                DurableState.Plan plan =
                        durable.plan(
                                identity,
                                checkpoint ->
                                        AnsweredResults.since(
                                                settings,
                                                topics.results(),
                                                transactionalIdPrefix,
                                                checkpoint,
                                                conf,
                                                System.err));
                System.err.println(plan.describe());
                plan.resumeFrom()
                        .ifPresent(
                                c ->
                                        System.err.println(
                                                ResultTransactions.describeResumed(
                                                        settings, transactionalIdPrefix, c.id())));
                Configuration run = durable.configure(plan, conf);
                StreamExecutionEnvironment env = environment(run);
                TetrisConfig config =
                        submit.deliverModels(env, run, jobManager != null, System.err);
                env.setParallelism(config.batch().replicas());
                env.enableCheckpointing(engine.checkpointInterval);
                Topology.build(
                        env,
                        config,
                        new Topology.Io(settings, topics, groupId, transactionalIdPrefix));
                SubmitOptions.Outcome outcome =
                        submit.execute(env, jobManager, durable, plan, identity, System.err);
                if (outcome.restoreFailure() == null) {
                    return outcome.exitCode();
                }
                DurableState.Checkpoint failed =
                        durable.newestOf(outcome.runId()).or(plan::resumeFrom).orElseThrow();
                durable.markUnrestorable(failed, outcome.restoreFailure());
                System.err.println(
                        "Checkpoint "
                                + failed.path()
                                + " could not be restored ("
                                + outcome.restoreFailure()
                                + "); marked, and falling back to the next older one");
            }
        }
    }

    private StreamExecutionEnvironment environment(Configuration conf) {
        if (jobManager == null) {
            return StreamExecutionEnvironment.getExecutionEnvironment(conf);
        }
        if (jar == null) {
            throw new IllegalArgumentException("--jobmanager needs --jar with the job jar");
        }
        String[] hostPort = jobManager.split(":");
        if (hostPort.length != 2) {
            throw new IllegalArgumentException("--jobmanager expects HOST:PORT, got " + jobManager);
        }
        return StreamExecutionEnvironment.createRemoteEnvironment(
                hostPort[0], Integer.parseInt(hostPort[1]), conf, jar.toString());
    }
}
