package io.tetris.operators.loop;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.metrics.CharacterFilter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.metrics.groups.AbstractMetricGroup;
import org.apache.flink.runtime.metrics.groups.ProcessMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.junit.jupiter.api.Test;

/**
 * The counters of a latency as a reporter sees them: registered under the names and labels that
 * Flink's Prometheus reporter turns into {@code le_<name>_bucket{le="..."}}, {@code _sum} and
 * {@code _count}, and counting cumulatively.
 */
class LatencyMetricTest {

    /** What Flink's Prometheus reporter does to a name: anything else becomes {@code _}. */
    private static final CharacterFilter PROMETHEUS = s -> s.replaceAll("[^a-zA-Z0-9:_]", "_");

    /** A metric as a reporter gets it: its name under the group's logical scope, its labels. */
    private record Registered(String name, Map<String, String> labels, Metric metric) {}

    private final List<Registered> registered = new ArrayList<>();
    private final AbstractMetricGroup<?> root =
            ProcessMetricGroup.create(
                    TestingMetricRegistry.builder()
                            .setDelimiter('_')
                            .setRegisterConsumer(
                                    (metric, name, group) ->
                                            registered.add(
                                                    new Registered(
                                                            group.getLogicalScope(PROMETHEUS, '_')
                                                                    + "_"
                                                                    + name,
                                                            labels(group.getAllVariables()),
                                                            metric)))
                            .build(),
                    "host");
    private final String scope = root.getLogicalScope(PROMETHEUS, '_') + "_";

    @Test
    void theBucketsAreCountersUnderAnLeLabelSharingOneBaseNameWithSumAndCount() {
        new LatencyMetric(root, "ttft_ms", LatencyBuckets.of(1, 5, 10), 100);

        assertThat(metric("ttft_ms", Map.of())).isInstanceOf(Histogram.class);
        for (String le : List.of("1", "5", "10", "+Inf")) {
            assertThat(metric(ServingMetrics.bucketSeries("ttft_ms"), Map.of("le", le)))
                    .as(le)
                    .isInstanceOf(Counter.class);
        }
        assertThat(ServingMetrics.bucketSeries("ttft_ms")).isEqualTo("le_ttft_ms_bucket");
        assertThat(metric(ServingMetrics.bucketSum("ttft_ms"), Map.of()))
                .isInstanceOf(Counter.class);
        assertThat(metric(ServingMetrics.bucketCount("ttft_ms"), Map.of()))
                .isInstanceOf(Counter.class);
        assertThat(registered).hasSize(1 + 4 + 2);
    }

    @Test
    void aSampleCountsInEveryBucketFromItsBoundUpAndInSumAndCount() {
        LatencyMetric latency =
                new LatencyMetric(root, "ttft_ms", LatencyBuckets.of(1, 5, 10), 100);
        for (long ms : new long[] {0, 1, 3, 5, 7, 10, 11, 500}) {
            latency.update(ms);
        }
        List<Long> buckets = new ArrayList<>();
        for (String le : List.of("1", "5", "10", "+Inf")) {
            buckets.add(count(ServingMetrics.bucketSeries("ttft_ms"), Map.of("le", le)));
        }
        assertThat(buckets).containsExactly(2L, 4L, 6L, 8L);
        assertThat(count(ServingMetrics.bucketCount("ttft_ms"), Map.of())).isEqualTo(8L);
        assertThat(count(ServingMetrics.bucketSum("ttft_ms"), Map.of()))
                .isEqualTo(0 + 1 + 3 + 5 + 7 + 10 + 11 + 500L);
        assertThat(((Histogram) metric("ttft_ms", Map.of())).getCount()).isEqualTo(8L);
    }

    @Test
    void twoLatenciesShareTheLeGroupsWithoutCollisions() {
        new LatencyMetric(root, "a_ms", LatencyBuckets.of(1, 5), 100);
        new LatencyMetric(root, "b_ms", LatencyBuckets.of(5, 10), 100);
        assertThat(registered).hasSize(2 * (1 + 3 + 2));
        assertThat(metric(ServingMetrics.bucketSeries("a_ms"), Map.of("le", "5")))
                .isNotSameAs(metric(ServingMetrics.bucketSeries("b_ms"), Map.of("le", "5")));
    }

    private long count(String name, Map<String, String> labels) {
        return ((Counter) metric(name, labels)).getCount();
    }

    private Metric metric(String name, Map<String, String> labels) {
        List<Metric> found = new ArrayList<>();
        for (Registered r : registered) {
            if (r.name().equals(scope + name) && r.labels().equals(labels)) {
                found.add(r.metric());
            }
        }
        assertThat(found).as(name + labels + " among " + registered).hasSize(1);
        return found.get(0);
    }

    /** The labels a metric has beyond the root's: {@code <key>} becomes the label {@code key}. */
    private Map<String, String> labels(Map<String, String> variables) {
        Map<String, String> labels = new HashMap<>();
        variables.forEach(
                (k, v) -> {
                    if (!root.getAllVariables().containsKey(k)) {
                        labels.put(k.substring(1, k.length() - 1), v);
                    }
                });
        return labels;
    }
}
