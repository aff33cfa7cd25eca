package io.tetris.job.cli;

import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options shared by the commands that run the job: models, policy, batching, raw settings. */
final class EngineOptions {

    @Option(
            names = "--policy",
            description =
                    "Verification budget policy: none, fixed, dsd, tetris or tetris-adaptive (default:"
                            + " ${DEFAULT-VALUE}).")
    String policy = TetrisOptions.POLICY.defaultValue();

    @Option(
            names = "--k",
            description =
                    "Draft window; tetris verifies k x batch tokens (default: ${DEFAULT-VALUE}).")
    int k = TetrisOptions.K.defaultValue();

    @Option(
            names = "--extra",
            description = "Extra draft tokens per sequence for tetris (default: ${DEFAULT-VALUE}).")
    int extra = TetrisOptions.EXTRA.defaultValue();

    @Option(
            names = "--batch",
            description = "Largest running batch per replica (default: ${DEFAULT-VALUE}).")
    int batch = TetrisOptions.MAX_RUNNING.defaultValue();

    @Option(
            names = "--replicas",
            description =
                    "Verifier replicas, i.e. parallel decode loops (default: ${DEFAULT-VALUE}).")
    int replicas = TetrisOptions.REPLICAS.defaultValue();

    @Mixin ModelsOption models = new ModelsOption();

    @Option(
            names = "--checkpoint-interval",
            paramLabel = "MS",
            description =
                    "Checkpoint interval in milliseconds; results are committed to Kafka at each"
                            + " checkpoint (default: ${DEFAULT-VALUE}).",
            defaultValue = "1000")
    long checkpointInterval;

    @Option(
            names = "--fail-at-round",
            paramLabel = "N",
            description =
                    "Chaos testing: make the decode loop fail once when its replica reaches"
                            + " round N, to watch recovery (repeatable).")
    List<Long> failAtRounds = new ArrayList<>();

    @Option(
            names = "--settings",
            paramLabel = "FILE",
            description =
                    "A properties file of tetris.* and Flink settings (e.g. a mounted Kubernetes"
                            + " ConfigMap); it overrides the options above, -D entries override"
                            + " it.")
    Path settingsFile;

    @Option(
            names = {"-D", "--conf"},
            paramLabel = "KEY=VALUE",
            description =
                    "Any tetris.* or Flink setting, e.g. -D tetris.batch.max-waiting=256"
                            + " (repeatable; see README for the list).")
    List<String> settings = new ArrayList<>();

    /** The Flink configuration these options describe, validated into a {@link TetrisConfig}. */
    Configuration configuration() {
        Configuration conf = new Configuration();
        models.applyTo(conf);
        conf.set(TetrisOptions.POLICY, policy);
        conf.set(TetrisOptions.K, k);
        conf.set(TetrisOptions.EXTRA, extra);
        conf.set(TetrisOptions.MAX_RUNNING, batch);
        conf.set(TetrisOptions.REPLICAS, replicas);
        // Under backpressure aligned barriers queue behind the buffered requests and results wait
        // for commits; unaligned checkpoints overtake them (override with -D if need be).
        conf.setString("execution.checkpointing.unaligned.enabled", "true");
        if (!failAtRounds.isEmpty()) {
            conf.set(TetrisOptions.FAIL_AT_ROUNDS, failAtRounds);
            // Recover quickly and as often as failures were asked for.
            conf.setString("restart-strategy.type", "fixed-delay");
            conf.setString(
                    "restart-strategy.fixed-delay.attempts",
                    String.valueOf(failAtRounds.size() + 3));
            conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        }
        if (settingsFile != null) {
            java.util.Properties file = new java.util.Properties();
            try (java.io.Reader reader =
                    Files.newBufferedReader(
                            settingsFile, java.nio.charset.StandardCharsets.UTF_8)) {
                file.load(reader);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(
                        "cannot read --settings " + settingsFile + ": " + e.getMessage(), e);
            }
            file.stringPropertyNames().forEach(k -> conf.setString(k, file.getProperty(k).trim()));
        }
        for (String entry : settings) {
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--conf expects KEY=VALUE, got '" + entry + "'");
            }
            conf.setString(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return conf;
    }

    TetrisConfig config(Configuration conf) {
        return TetrisConfig.from(conf);
    }
}
