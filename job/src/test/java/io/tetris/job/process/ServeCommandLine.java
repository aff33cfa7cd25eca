package io.tetris.job.process;

import io.tetris.job.kafka.TopicArgs;
import io.tetris.job.kafka.TopicNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The {@code serve} command line the process tests run, typed as a user would. */
final class ServeCommandLine {

    private ServeCommandLine() {}

    /**
     * {@code serve} against {@code broker} with the given models and state folder, a running batch
     * of 4, the test's {@code options}, and {@code topics}.
     */
    static List<String> of(
            BrokerProcess broker, TopicNames topics, Path models, Path state, String... options) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "serve",
                                "--bootstrap-servers",
                                broker.settings().bootstrapServers(),
                                "--models",
                                models.toString(),
                                "--state-dir",
                                state.toUri().toString(),
                                "--batch",
                                "4"));
        args.addAll(List.of(options));
        args.addAll(TopicArgs.of(topics));
        return args;
    }

    /** Starts {@code serve} with {@code args} as its own process; returns once its job is up. */
    static ChildJvm start(Path log, List<String> args) throws Exception {
        ChildJvm serve = ChildJvm.start(log, "1g", "io.tetris.job.cli.Main", args);
        serve.awaitLog("State of job", Duration.ofMinutes(1));
        return serve;
    }
}
