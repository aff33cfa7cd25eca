package io.tetris.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.kafka.KafkaClientSettings;
import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.OperatorNames;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisConfig;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/** The job's shape, without running it. */
class TopologyTest {

    /**
     * Flink's committer operator re-registers its {@code pendingCommittables} gauge at every
     * checkpoint (a "Name collision" warning each time); only the exactly-once result sink has
     * something to commit, so it is the only sink with a committer.
     */
    @Test
    void onlyTheExactlyOnceResultSinkHasACommitter() {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.enableCheckpointing(1000);
        Topology.build(
                env,
                TetrisConfig.from(BundledModelsConfig.configuration()),
                new Topology.Io(
                        KafkaClientSettings.of("localhost:9092"),
                        TopicNames.defaults(),
                        "group",
                        "prefix"));
        List<String> names =
                env.getStreamGraph(false).getStreamNodes().stream()
                        .map(StreamNode::getOperatorName)
                        .toList();

        assertThat(names)
                .anyMatch(n -> n.startsWith(OperatorNames.TOKENS_SINK))
                .anyMatch(n -> n.startsWith(OperatorNames.ERRORS_SINK));
        assertThat(names.stream().filter(n -> n.contains("Committer")))
                .singleElement()
                .asString()
                .startsWith(OperatorNames.RESULTS_SINK);
    }
}
