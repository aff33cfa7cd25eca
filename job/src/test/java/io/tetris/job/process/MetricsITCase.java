package io.tetris.job.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.job.TopicReader;
import io.tetris.job.kafka.KafkaTopics;
import io.tetris.job.kafka.TopicNames;
import io.tetris.model.BundledModels;
import io.tetris.operators.loop.LatencyBuckets;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A running {@code serve} (its own process, against a broker process) scraped the way Prometheus
 * would: every serving metric is there with the right type, and the values move while it works;
 * each latency's bucket series is a histogram {@code histogram_quantile} can use.
 */
class MetricsITCase {

    private static final String PREFIX = "flink_taskmanager_job_task_operator_";
    private static final int REQUESTS = 24;
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    private static final List<String> HISTOGRAMS =
            List.of(
                    "request_queue_time_ms",
                    "time_to_first_token_ms",
                    "inter_token_latency_ms",
                    "e2e_request_latency_ms");

    /** Each latency's bucket bounds, as {@code le} labels. */
    private static final Map<String, LatencyBuckets> BUCKETS =
            Map.of(
                    "request_queue_time_ms", LatencyBuckets.QUEUE_TIME,
                    "time_to_first_token_ms", LatencyBuckets.TIME_TO_FIRST_TOKEN,
                    "inter_token_latency_ms", LatencyBuckets.INTER_TOKEN_LATENCY,
                    "e2e_request_latency_ms", LatencyBuckets.E2E_LATENCY);

    private static final List<String> COUNTERS =
            List.of(
                    "prompt_tokens",
                    "generation_tokens",
                    "spec_decode_num_drafts",
                    "spec_decode_num_draft_tokens",
                    "spec_decode_num_accepted_tokens",
                    // Flink puts a labelled group's key into the name: position="0", "1", ...
                    "position_spec_decode_num_accepted_tokens_per_pos",
                    "spec_decode_budget_offered_tokens",
                    "spec_decode_budget_used_tokens");
    private static final List<String> GAUGES =
            List.of(
                    "num_requests_running",
                    "num_requests_waiting",
                    "round_time_predicted_us",
                    "round_time_measured_us",
                    "acceptance_calibration_error");

    @Test
    void aScrapeOfARunningServeShowsEveryServingMetricMoving() throws Exception {
        Path dir = Files.createTempDirectory("metrics-");
        try (BrokerProcess broker = BrokerProcess.start(dir.resolve("broker"))) {
            TopicNames topics = TopicNames.withPrefix("metrics");
            KafkaTopics.ensureExist(broker.settings(), topics, 2, (short) 1, TIMEOUT);
            int port = BrokerProcess.freePort();
            ChildJvm serve =
                    ServeCommandLine.start(
                            dir.resolve("serve.log"),
                            ServeCommandLine.of(
                                    broker,
                                    topics,
                                    BundledModels.dir(),
                                    dir.resolve("state"),
                                    // The one policy whose calibration error is not constant.
                                    "--policy",
                                    "tetris-adaptive",
                                    "--metrics-port",
                                    Integer.toString(port)));
            try {
                Map<String, Double> before = awaitOperatorMetrics(port, serve);
                Map<String, String> types = types(scrape(port));
                for (String name : HISTOGRAMS) {
                    assertThat(types.get(PREFIX + name)).as(name).isEqualTo("summary");
                    // Flink counters: Prometheus type gauge, which rate() takes all the same.
                    for (String suffix : List.of("_bucket", "_sum", "_count")) {
                        assertThat(types)
                                .as(name + suffix)
                                .containsKey(PREFIX + "le_" + name + suffix);
                    }
                }
                for (String name : COUNTERS) {
                    assertThat(types).as(name).containsKey(PREFIX + name);
                }
                for (String name : GAUGES) {
                    assertThat(types).as(name).containsKey(PREFIX + name);
                }

                MixedWorkload.send(
                        broker.settings(),
                        topics.requests(),
                        MixedWorkload.requests("m", 0, REQUESTS));
                // Mid-run: requests are in flight.
                double runningSeen = 0;
                double waitingSeen = 0;
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                int results = 0;
                while (results < REQUESTS && System.nanoTime() < deadline) {
                    Map<String, Double> now = values(scrape(port));
                    runningSeen = Math.max(runningSeen, now.get(PREFIX + "num_requests_running"));
                    waitingSeen = Math.max(waitingSeen, now.get(PREFIX + "num_requests_waiting"));
                    results = TopicReader.readAll(broker.settings(), topics.results()).size();
                    Thread.sleep(100);
                }
                assertThat(results).isEqualTo(REQUESTS);
                Map<String, Double> after = values(scrape(port));

                assertThat(runningSeen).as("running seen").isPositive();
                assertThat(waitingSeen).as("waiting seen (batch 4, 24 requests)").isPositive();
                for (String name : HISTOGRAMS) {
                    assertThat(after.get(PREFIX + name + "_count"))
                            .as(name + " samples")
                            .isGreaterThan(before.getOrDefault(PREFIX + name + "_count", 0.0));
                }
                assertThat(after.get(PREFIX + "e2e_request_latency_ms_count"))
                        .isEqualTo((double) REQUESTS);
                String exposition = scrape(port);
                Map<String, Double> now = values(exposition);
                for (String name : HISTOGRAMS) {
                    assertCumulativeHistogram(exposition, now, name);
                }
                assertThat(now.get(PREFIX + "le_e2e_request_latency_ms_count"))
                        .as("every request completed once")
                        .isEqualTo((double) REQUESTS);
                for (String name : COUNTERS) {
                    assertThat(after.get(PREFIX + name))
                            .as(name)
                            .isGreaterThan(before.getOrDefault(PREFIX + name, 0.0));
                }
                assertThat(after.get(PREFIX + "spec_decode_num_accepted_tokens"))
                        .isLessThanOrEqualTo(after.get(PREFIX + "spec_decode_budget_used_tokens"));
                assertThat(after.get(PREFIX + "spec_decode_budget_used_tokens"))
                        .isLessThanOrEqualTo(
                                after.get(PREFIX + "spec_decode_budget_offered_tokens"));
                assertThat(after.get(PREFIX + "round_time_measured_us")).isPositive();
                assertThat(after.get(PREFIX + "round_time_predicted_us")).isPositive();
                assertThat(after.get(PREFIX + "acceptance_calibration_error"))
                        .isNotEqualTo(before.get(PREFIX + "acceptance_calibration_error"));
            } finally {
                serve.kill();
            }
        }
    }

    /**
     * {@code name}'s bucket series is a Prometheus histogram: the bounds are the {@link
     * LatencyBuckets}', the counts never fall as {@code le} grows, the {@code +Inf} bucket is
     * {@code _count} (and the summary's count), and {@code _sum} holds the samples' milliseconds.
     */
    private static void assertCumulativeHistogram(
            String exposition, Map<String, Double> values, String name) {
        String base = PREFIX + "le_" + name;
        Map<String, Double> buckets = buckets(exposition, base + "_bucket");
        assertThat(buckets.keySet())
                .as(name + " le")
                .containsExactlyInAnyOrderElementsOf(BUCKETS.get(name).labels());
        List<Map.Entry<String, Double>> byBound = new ArrayList<>(buckets.entrySet());
        byBound.sort(Comparator.comparingDouble(e -> bound(e.getKey())));
        double previous = 0;
        for (Map.Entry<String, Double> bucket : byBound) {
            assertThat(bucket.getValue())
                    .as(name + " le=" + bucket.getKey() + " of " + byBound)
                    .isGreaterThanOrEqualTo(previous);
            previous = bucket.getValue();
        }
        double count = values.get(base + "_count");
        assertThat(buckets.get(LatencyBuckets.INF)).as(name + " +Inf").isEqualTo(count);
        assertThat(count).as(name + " samples").isPositive();
        assertThat(values.get(PREFIX + name + "_count")).as(name + " summary").isEqualTo(count);
        assertThat(values.get(base + "_sum")).as(name + " sum").isPositive();
    }

    private static double bound(String le) {
        return le.equals(LatencyBuckets.INF) ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
    }

    /** The samples of {@code bucketSeries} by their {@code le}, summed over the other labels. */
    private static Map<String, Double> buckets(String exposition, String bucketSeries) {
        Map<String, Double> buckets = new HashMap<>();
        Matcher le = Pattern.compile("[{,]le=\"([^\"]*)\"").matcher("");
        for (String line : exposition.split("\n")) {
            if (line.startsWith(bucketSeries + "{")) {
                assertThat(le.reset(line).find()).as(line).isTrue();
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                buckets.merge(le.group(1), value, Double::sum);
            }
        }
        return buckets;
    }

    /** Waits until the decode loop's metrics are registered; returns the first full scrape. */
    private static Map<String, Double> awaitOperatorMetrics(int port, ChildJvm serve)
            throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                Map<String, Double> values = values(scrape(port));
                if (values.containsKey(PREFIX + "spec_decode_num_drafts")) {
                    return values;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (!serve.isAlive()) {
                throw new AssertionError("serve exited; " + serve.tail());
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no operator metrics on port " + port + "; " + serve.tail());
    }

    private static String scrape(int port) throws IOException, InterruptedException {
        HttpResponse<String> response =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create("http://localhost:" + port + "/metrics"))
                                        .timeout(Duration.ofSeconds(10))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    /** {@code # TYPE name type} lines. */
    private static Map<String, String> types(String exposition) {
        Map<String, String> types = new HashMap<>();
        for (String line : exposition.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ");
                types.put(parts[2], parts[3]);
            }
        }
        return types;
    }

    /** Sample values by metric name, summed over labels (subtasks, positions); no quantiles. */
    private static Map<String, Double> values(String exposition) {
        Map<String, Double> values = new HashMap<>();
        for (String line : exposition.split("\n")) {
            if (line.isEmpty() || line.startsWith("#") || line.contains("quantile=")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String name = line.substring(0, brace >= 0 ? brace : line.indexOf(' '));
            double value = Double.parseDouble(line.substring(space + 1));
            if (!Double.isNaN(value)) {
                values.merge(name, value, Double::sum);
            }
        }
        return values;
    }
}
