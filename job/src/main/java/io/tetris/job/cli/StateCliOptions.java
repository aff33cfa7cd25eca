package io.tetris.job.cli;

import io.tetris.job.state.StateOptions;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Option;

/** Where a long-running job keeps its checkpoints, and whether it resumes from them. */
final class StateCliOptions {

    @Option(
            names = "--state-dir",
            paramLabel = "URI",
            description =
                    "Durable directory for checkpoints, any Flink file system URI (default:"
                            + " .tetris/state under your home). A restart of the same command"
                            + " resumes from the newest completed checkpoint found there.")
    String stateDir;

    @Option(
            names = "--job-name",
            paramLabel = "NAME",
            description =
                    "Identity of the job whose checkpoints are resumed (default: derived from the"
                            + " topics, --group-id and --transactional-id-prefix).")
    String jobName;

    @Option(
            names = "--fresh-start",
            description =
                    "Ignore retained checkpoints and start from the consumer group's committed"
                            + " offsets (requests queued or mid-generation then are not"
                            + " resumed).")
    boolean freshStart;

    void applyTo(Configuration conf) {
        if (stateDir != null) {
            conf.set(StateOptions.DIRECTORY, stateDir);
        }
        if (jobName != null) {
            conf.set(StateOptions.JOB_NAME, jobName);
        }
        if (freshStart) {
            conf.set(StateOptions.FRESH_START, true);
        }
    }
}
