package io.tetris.operators.loop;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * One latency, exported twice. As a Flink histogram, which Flink's Prometheus reporter exports as a
 * summary: quantiles of this task's recent samples, which cannot be combined across TaskManagers.
 * And as a Prometheus histogram with fixed buckets, which can: Flink has no such metric, so it is
 * built of counters.
 *
 * <p>Flink's Prometheus reporter turns a key-value group into a label and puts the key into the
 * metric's name too. So the buckets are counters {@code <name>_bucket} in the groups {@code
 * le=<bound>}, and {@code <name>_sum} and {@code <name>_count} are counters in the key group {@code
 * le} itself, so that all three series share one base name, as Prometheus histograms do: {@code
 * le_<name>_bucket{le="..."}}, {@code le_<name>_sum}, {@code le_<name>_count} (see {@link
 * ServingMetrics#bucketSeries}). The summary keeps {@code <name>}; its own {@code <name>_count} is
 * why the histogram cannot be {@code <name>_...} as well.
 */
final class LatencyMetric {

    private final Histogram summary;
    private final LatencyBuckets buckets;
    private final Counter[] cumulative;
    private final Counter sum;
    private final Counter count;

    LatencyMetric(MetricGroup group, String name, LatencyBuckets buckets, int window) {
        this.summary = group.histogram(name, new DescriptiveStatisticsHistogram(window));
        this.buckets = buckets;
        cumulative = new Counter[buckets.size()];
        int i = 0;
        for (String bound : buckets.labels()) {
            cumulative[i++] =
                    group.addGroup(ServingMetrics.BUCKET_LABEL, bound).counter(name + "_bucket");
        }
        // After the key-value groups: Flink hands back the existing key group "le" here. Asked
        // first, it would make "le" a plain group, and the bounds would be no label.
        MetricGroup base = group.addGroup(ServingMetrics.BUCKET_LABEL);
        sum = base.counter(name + "_sum");
        count = base.counter(name + "_count");
    }

    /** A sample: into the summary's window, and counted in every bucket whose bound is >= it. */
    void update(long ms) {
        summary.update(ms);
        for (int i = buckets.first(ms); i < cumulative.length; i++) {
            cumulative[i].inc();
        }
        sum.inc(ms);
        count.inc();
    }
}
