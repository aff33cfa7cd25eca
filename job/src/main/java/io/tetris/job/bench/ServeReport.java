package io.tetris.job.bench;

import io.tetris.operators.loop.ServingMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.DoubleStream;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The open-loop benchmark's report: per policy and arrival rate, throughput, latency percentiles
 * and goodput under the objective, the highest rate each policy sustains within it, as Markdown,
 * CSV and latency-against-rate charts.
 */
public final class ServeReport {

    /** Latency percentiles reported, as vLLM's {@code bench serve} does. */
    private static final double[] QUANTILES = {0.5, 0.9, 0.99};

    private final List<LoadPoint> points;
    private final ClientTimings.Slo slo;
    private final double attainment;

    /**
     * @param attainment share of requests within the objective a sustained rate needs
     */
    public ServeReport(List<LoadPoint> points, ClientTimings.Slo slo, double attainment) {
        this.points = List.copyOf(points);
        this.slo = slo;
        this.attainment = attainment;
    }

    /** The runs of each policy at each rate, policies in first-seen order, rates ascending. */
    Map<String, TreeMap<Double, List<LoadPoint>>> byPolicy() {
        Map<String, TreeMap<Double, List<LoadPoint>>> out = new LinkedHashMap<>();
        for (LoadPoint p : points) {
            out.computeIfAbsent(p.policy(), x -> new TreeMap<>())
                    .computeIfAbsent(p.rate(), x -> new ArrayList<>())
                    .add(p);
        }
        return out;
    }

    /** All repeats' samples of one latency, pooled and sorted. */
    private static double[] pooled(
            List<LoadPoint> runs, java.util.function.Function<LoadPoint, double[]> f) {
        return runs.stream().flatMapToDouble(p -> DoubleStream.of(f.apply(p))).sorted().toArray();
    }

    /** Share of all sent requests of these runs within the objective. */
    static double attainment(List<LoadPoint> runs) {
        int sent = runs.stream().mapToInt(LoadPoint::sent).sum();
        int met = runs.stream().mapToInt(LoadPoint::metSlo).sum();
        return sent == 0 ? 0 : (double) met / sent;
    }

    /**
     * The highest rate at which this policy kept the objective for the required share of requests,
     * at that rate and every lower one; 0 if it never did.
     */
    double sustainedRate(TreeMap<Double, List<LoadPoint>> rates) {
        double sustained = 0;
        for (Map.Entry<Double, List<LoadPoint>> e : rates.entrySet()) {
            if (attainment(e.getValue()) < attainment) {
                break;
            }
            sustained = e.getKey();
        }
        return sustained;
    }

    /** Mean over repeats with a 95 % Student t interval. */
    static BenchStatistics.Interval mean(double[] values) {
        int n = values.length;
        double m = DoubleStream.of(values).average().orElse(Double.NaN);
        if (n < 2) {
            return new BenchStatistics.Interval(m, Double.NaN, Double.NaN);
        }
        double var = DoubleStream.of(values).map(v -> (v - m) * (v - m)).sum() / (n - 1);
        double half = BenchStatistics.t975(n - 1) * Math.sqrt(var / n);
        return new BenchStatistics.Interval(m, m - half, m + half);
    }

    private static String interval(BenchStatistics.Interval i) {
        return Double.isNaN(i.low())
                ? String.format(Locale.ROOT, "%.2f", i.estimate())
                : String.format(Locale.ROOT, "%.2f [%.2f, %.2f]", i.estimate(), i.low(), i.high());
    }

    private static String ms(double[] sorted) {
        StringBuilder s = new StringBuilder();
        for (double q : QUANTILES) {
            if (s.length() > 0) {
                s.append(" / ");
            }
            s.append(String.format(Locale.ROOT, "%.0f", LoadPoint.quantile(sorted, q)));
        }
        return s.toString();
    }

    /** Writes results.md, results.csv and the charts into {@code dir}. */
    public void write(Path dir, String title, String header) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(
                dir.resolve("results.md"), markdown(title, header), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("results.csv"), csv(), StandardCharsets.UTF_8);
        chart(
                dir.resolve("ttft-p99.png"),
                title + ": time to first token, p99",
                "TTFT p99 (ms)",
                runs -> LoadPoint.quantile(pooled(runs, LoadPoint::ttftMs), 0.99),
                true);
        chart(
                dir.resolve("itl-p99.png"),
                title + ": inter-token latency, p99",
                "ITL p99 (ms)",
                runs -> LoadPoint.quantile(pooled(runs, LoadPoint::itlMs), 0.99),
                true);
        chart(
                dir.resolve("goodput.png"),
                title + ": goodput within the objective",
                "requests / s within the objective (mean)",
                runs -> mean(runs.stream().mapToDouble(LoadPoint::goodput).toArray()).estimate(),
                false);
    }

    String markdown(String title, String header) {
        StringBuilder md = new StringBuilder("# " + title + "\n\n" + header + "\n\n");
        md.append(
                String.format(
                        Locale.ROOT,
                        "Objective: time to first token <= %.0f ms and mean inter-token latency"
                                + " <= %.0f ms per request; a rate is sustained when at least"
                                + " %.0f %% of the requests sent at it (and at every lower rate)"
                                + " meet it.%n%n",
                        slo.ttftMs(),
                        slo.itlMs(),
                        100 * attainment));
        md.append("## Sustained rate within the objective\n\n");
        md.append("| policy | sustained rate (requests/s) |\n|---|---:|\n");
        byPolicy()
                .forEach(
                        (policy, rates) ->
                                md.append("| " + policy + " | " + format(sustainedRate(rates)))
                                        .append(" |\n"));
        md.append(
                "\n## Latency against rate\n\nThroughput and goodput: mean over repeats with the"
                        + " 95 % interval. Latencies: p50 / p90 / p99 in ms over every request of"
                        + " every repeat (ITL over every gap between tokens).\n\n");
        md.append(
                "| policy | rate | repeats | completed | requests/s | output tokens/s | TTFT ms |"
                        + " ITL ms | e2e ms | queue ms | within objective | goodput (requests/s)"
                        + " |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        byPolicy()
                .forEach(
                        (policy, rates) ->
                                rates.forEach((rate, runs) -> md.append(row(policy, rate, runs))));
        agreement(md);
        return md.toString();
    }

    private static String row(String policy, double rate, List<LoadPoint> runs) {
        int sent = runs.stream().mapToInt(LoadPoint::sent).sum();
        int completed = runs.stream().mapToInt(LoadPoint::completed).sum();
        return String.format(
                Locale.ROOT,
                "| %s | %s | %d | %d / %d | %s | %s | %s | %s | %s | %s | %.0f %% | %s |%n",
                policy,
                format(rate),
                runs.size(),
                completed,
                sent,
                interval(mean(each(runs, LoadPoint::requestsPerSecond))),
                interval(mean(each(runs, LoadPoint::tokensPerSecond))),
                ms(pooled(runs, LoadPoint::ttftMs)),
                ms(pooled(runs, LoadPoint::itlMs)),
                ms(pooled(runs, LoadPoint::e2eMs)),
                ms(pooled(runs, LoadPoint::queueMs)),
                100 * attainment(runs),
                interval(mean(each(runs, LoadPoint::goodput))));
    }

    private static double[] each(
            List<LoadPoint> runs, java.util.function.ToDoubleFunction<LoadPoint> f) {
        return runs.stream().mapToDouble(f).toArray();
    }

    /** The latencies both the client and the job measure, with the client's samples of each. */
    private static final Map<String, java.util.function.Function<LoadPoint, double[]>> COMPARED =
            new LinkedHashMap<>();

    static {
        COMPARED.put(ServingMetrics.TIME_TO_FIRST_TOKEN, LoadPoint::ttftMs);
        COMPARED.put(ServingMetrics.INTER_TOKEN_LATENCY, LoadPoint::itlMs);
        COMPARED.put(ServingMetrics.E2E_LATENCY, LoadPoint::e2eMs);
    }

    /**
     * The client's percentiles against the job's own histograms over the same runs: what a
     * dashboard shows must be what users see.
     */
    private void agreement(StringBuilder md) {
        StringBuilder rows = new StringBuilder();
        int[] agreed = new int[2]; // {agree, compared}
        byPolicy()
                .forEach(
                        (policy, rates) ->
                                rates.forEach(
                                        (rate, runs) ->
                                                agreementRow(policy, rate, runs, rows, agreed)));
        if (agreed[1] == 0) {
            return;
        }
        md.append(
                "\n## The client against the job's own histograms\n\nClient-side p50 and p99"
                        + " (nearest rank over every sample) / the job's (`histogram_quantile`"
                        + " over its Prometheus buckets, summed over the runs); **x** where they"
                        + " differ by more than 10 % and by more than one bucket. The client's"
                        + " clock starts at the scheduled arrival and stops when a token event"
                        + " arrives, the job's when the request reached Kafka (its record's"
                        + " timestamp) and when it emits: the token events' way back lies"
                        + " between.");
        md.append(String.format(Locale.ROOT, " Agreement: %d of %d.%n%n", agreed[0], agreed[1]));
        md.append(
                "| policy | rate | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | e2e p50 | e2e p99 |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        md.append(rows);
    }

    private static void agreementRow(
            String policy, double rate, List<LoadPoint> runs, StringBuilder rows, int[] agreed) {
        JobHistograms job = null;
        for (LoadPoint p : runs) {
            if (p.job() != null) {
                job = job == null ? p.job() : job.plus(p.job());
            }
        }
        if (job == null) {
            return;
        }
        rows.append("| ").append(policy).append(" | ").append(format(rate)).append(" |");
        for (Map.Entry<String, java.util.function.Function<LoadPoint, double[]>> latency :
                COMPARED.entrySet()) {
            double[] client = pooled(runs, latency.getValue());
            for (double q : new double[] {0.5, 0.99}) {
                double c = LoadPoint.quantile(client, q);
                double j = job.quantile(latency.getKey(), q);
                boolean ok = job.agree(latency.getKey(), c, j);
                agreed[0] += ok ? 1 : 0;
                agreed[1]++;
                rows.append(
                        String.format(Locale.ROOT, " %.0f / %.0f%s |", c, j, ok ? "" : " **x**"));
            }
        }
        rows.append('\n');
    }

    String csv() {
        StringBuilder csv =
                new StringBuilder(
                        "policy,rate,repeat,sent,completed,errors,met_slo,seconds,output_tokens,"
                                + "ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,itl_p50_ms,itl_p90_ms,itl_p99_ms,"
                                + "e2e_p50_ms,e2e_p90_ms,e2e_p99_ms,queue_p50_ms,queue_p99_ms\n");
        for (LoadPoint p : points) {
            csv.append(
                    String.format(
                            Locale.ROOT,
                            "%s,%s,%d,%d,%d,%d,%d,%.3f,%d",
                            p.policy(),
                            format(p.rate()),
                            p.repeat(),
                            p.sent(),
                            p.completed(),
                            p.errors(),
                            p.metSlo(),
                            p.seconds(),
                            p.outputTokens()));
            for (double[] values : List.of(p.ttftMs(), p.itlMs(), p.e2eMs())) {
                for (double q : QUANTILES) {
                    csv.append(String.format(Locale.ROOT, ",%.1f", LoadPoint.quantile(values, q)));
                }
            }
            csv.append(
                    String.format(
                            Locale.ROOT,
                            ",%.1f,%.1f%n",
                            LoadPoint.quantile(p.queueMs(), 0.5),
                            LoadPoint.quantile(p.queueMs(), 0.99)));
        }
        return csv.toString();
    }

    private void chart(
            Path file,
            String title,
            String yLabel,
            java.util.function.ToDoubleFunction<List<LoadPoint>> y,
            boolean logY)
            throws IOException {
        XYSeriesCollection dataset = new XYSeriesCollection();
        List<String> families = new ArrayList<>();
        byPolicy()
                .forEach(
                        (policy, rates) -> {
                            XYSeries series = new XYSeries(policy);
                            rates.forEach(
                                    (rate, runs) -> {
                                        double v = y.applyAsDouble(runs);
                                        if (Double.isFinite(v) && (!logY || v > 0)) {
                                            series.add((double) rate, v);
                                        }
                                    });
                            dataset.addSeries(series);
                            families.add(family(policy));
                        });
        NumberAxis rateAxis = new NumberAxis("arrival rate (requests / s, Poisson)");
        rateAxis.setAutoRangeIncludesZero(false);
        org.jfree.chart.axis.ValueAxis valueAxis;
        if (logY) {
            LogAxis log = new LogAxis(yLabel);
            log.setSmallestValue(1);
            valueAxis = log;
        } else {
            valueAxis = new NumberAxis(yLabel);
        }
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        XYPlot plot = new XYPlot(dataset, rateAxis, valueAxis, renderer);
        BenchCharts.save(new JFreeChart(title, plot), families, file);
    }

    /** The bench's colour family of a policy label, so both reports draw a policy alike. */
    static String family(String policy) {
        if (policy.startsWith("fixed")) {
            return "fixed (best k)";
        }
        if (policy.startsWith("tetris-adaptive")) {
            return "tetris-adaptive";
        }
        if (policy.startsWith("tetris")) {
            return "tetris (best k,e)";
        }
        return policy;
    }

    private static String format(double rate) {
        return rate == Math.rint(rate)
                ? String.format(Locale.ROOT, "%.0f", rate)
                : String.format(Locale.ROOT, "%.2f", rate);
    }
}
