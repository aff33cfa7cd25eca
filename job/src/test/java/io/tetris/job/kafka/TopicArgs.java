package io.tetris.job.kafka;

import java.util.List;

/** The command-line options that point a {@code tetris} command at a set of topics. */
public final class TopicArgs {

    private TopicArgs() {}

    public static List<String> of(TopicNames topics) {
        return List.of(
                "--requests-topic",
                topics.requests(),
                "--tokens-topic",
                topics.tokens(),
                "--results-topic",
                topics.results(),
                "--errors-topic",
                topics.errors());
    }
}
