package io.tetris.job.bench;

import io.tetris.operators.loop.ServingMetrics;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The job's own latency histograms as Prometheus serves them, summed over every series of a bucket
 * ({@code sum by (le)}), so a benchmark can check its client-side percentiles against what the job
 * reports.
 *
 * @param buckets {@code latency name -> (upper bound in ms -> cumulative count)}, {@code +Inf} as
 *     positive infinity
 */
public record JobHistograms(Map<String, TreeMap<Double, Double>> buckets) {

    private static final Pattern BUCKET =
            Pattern.compile(
                    "^\\w*?_le_(\\w+)_bucket\\{(?:[^}]*,)?le=\"([^\"]+)\"[^}]*}\\s+(\\S+)\\s*$");

    /** Reads {@code metrics} (a Prometheus endpoint's URL). */
    public static JobHistograms scrape(URI metrics) throws IOException, InterruptedException {
        HttpResponse<String> response =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(metrics)
                                        .timeout(Duration.ofSeconds(10))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
        return parse(response.body());
    }

    /** Parses a Prometheus text exposition. */
    public static JobHistograms parse(String text) {
        Map<String, TreeMap<Double, Double>> out = new HashMap<>();
        for (String line : text.split("\n")) {
            Matcher m = BUCKET.matcher(line);
            if (!m.matches() || !ServingMetrics.LATENCIES.contains(m.group(1))) {
                continue;
            }
            double le =
                    m.group(2).equals("+Inf")
                            ? Double.POSITIVE_INFINITY
                            : Double.parseDouble(m.group(2));
            out.computeIfAbsent(m.group(1), x -> new TreeMap<>())
                    .merge(le, Double.parseDouble(m.group(3)), Double::sum);
        }
        return new JobHistograms(out);
    }

    /** Both counts together (runs of one policy at one rate). */
    public JobHistograms plus(JobHistograms other) {
        Map<String, TreeMap<Double, Double>> out = new HashMap<>();
        for (JobHistograms h : java.util.List.of(this, other)) {
            h.buckets.forEach(
                    (name, counts) ->
                            counts.forEach(
                                    (le, c) ->
                                            out.computeIfAbsent(name, x -> new TreeMap<>())
                                                    .merge(le, c, Double::sum)));
        }
        return new JobHistograms(out);
    }

    /** What was counted since {@code before}. */
    public JobHistograms minus(JobHistograms before) {
        Map<String, TreeMap<Double, Double>> out = new HashMap<>();
        buckets.forEach(
                (name, counts) -> {
                    TreeMap<Double, Double> earlier =
                            before.buckets.getOrDefault(name, new TreeMap<>());
                    TreeMap<Double, Double> delta = new TreeMap<>();
                    counts.forEach((le, c) -> delta.put(le, c - earlier.getOrDefault(le, 0.0)));
                    out.put(name, delta);
                });
        return new JobHistograms(out);
    }

    /**
     * {@code histogram_quantile(q, ...)} as Prometheus computes it: linear within the bucket that
     * holds the rank, the lower bound of the first bucket 0, the highest finite bound where the
     * rank falls in {@code +Inf}; NaN without samples.
     */
    public double quantile(String latency, double q) {
        TreeMap<Double, Double> counts = buckets.get(latency);
        if (counts == null || counts.isEmpty()) {
            return Double.NaN;
        }
        double total = counts.lastEntry().getValue();
        if (!(total > 0)) {
            return Double.NaN;
        }
        double rank = q * total;
        double lower = 0;
        double below = 0;
        for (Map.Entry<Double, Double> e : counts.entrySet()) {
            if (e.getValue() >= rank) {
                if (Double.isInfinite(e.getKey())) {
                    return lower;
                }
                double inBucket = e.getValue() - below;
                return inBucket <= 0
                        ? e.getKey()
                        : lower + (e.getKey() - lower) * (rank - below) / inBucket;
            }
            lower = e.getKey();
            below = e.getValue();
        }
        return lower;
    }

    /**
     * Whether a client-side and a job-side figure agree: within 10 %, or in the same or a
     * neighbouring bucket of the job's histogram (what a bucketed quantile can resolve).
     */
    public boolean agree(String latency, double client, double job) {
        if (Double.isNaN(client) || Double.isNaN(job)) {
            return false;
        }
        if (Math.abs(job - client) <= 0.1 * Math.max(client, job)) {
            return true;
        }
        TreeMap<Double, Double> counts = buckets.get(latency);
        if (counts == null) {
            return false;
        }
        return Math.abs(bucketIndex(counts, client) - bucketIndex(counts, job)) <= 1;
    }

    private static int bucketIndex(TreeMap<Double, Double> counts, double value) {
        int i = 0;
        for (double le : counts.keySet()) {
            if (value <= le) {
                return i;
            }
            i++;
        }
        return i;
    }
}
