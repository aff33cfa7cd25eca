package io.tetris.job.state;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Where a long-running job keeps its checkpoints and how it resumes from them. {@code serve} sets
 * them from its command line; a {@code --settings} file or {@code -D} can set them too.
 */
public final class StateOptions {

    private StateOptions() {}

    /** The default state directory: under the user's home, so it outlives the process. */
    public static String defaultDirectory() {
        return java.nio.file.Paths.get(System.getProperty("user.home"), ".tetris", "state")
                .toUri()
                .toString();
    }

    public static final ConfigOption<String> DIRECTORY =
            ConfigOptions.key("tetris.state.dir")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Durable directory (any Flink file system URI: file://, s3://, hdfs://"
                                    + " ...) that keeps the checkpoints of every job, one"
                                    + " subdirectory per job name. Default: .tetris/state under"
                                    + " the user's home.");

    public static final ConfigOption<String> JOB_NAME =
            ConfigOptions.key("tetris.state.job-name")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Identity of the job whose checkpoints a start resumes from. Default:"
                                    + " derived from the topics, the consumer group and the"
                                    + " transactional id prefix, so the same command resumes"
                                    + " the same job. A second serve with a running job's name"
                                    + " refuses to start.");

    public static final ConfigOption<Boolean> FRESH_START =
            ConfigOptions.key("tetris.state.fresh-start")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription(
                            "Start without the retained checkpoints: requests queued or"
                                    + " mid-generation in them are not resumed, and the source"
                                    + " starts from the consumer group's committed offsets. They"
                                    + " are deleted once the new run has completed a checkpoint.");

    public static final ConfigOption<Integer> RETAINED =
            ConfigOptions.key("tetris.state.retained-checkpoints")
                    .intType()
                    .defaultValue(2)
                    .withDescription(
                            "Completed checkpoints kept per run; more than one leaves a"
                                    + " fallback should the newest be unreadable or fail to"
                                    + " restore. Older ones are deleted.");
}
