package io.tetris.job.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYItemRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/** The two PNG charts of the bench report. */
final class BenchCharts {

    static {
        // The bench runs on servers without a display; this must precede the first AWT class.
        System.setProperty("java.awt.headless", "true");
    }

    static final int WIDTH = 1000;
    static final int HEIGHT = 600;

    /** Policy families in legend order, each drawn in the same colour in both charts. */
    private static final List<String> FAMILIES =
            List.of("none", "fixed (best k)", "dsd", "tetris (best k,e)", "tetris-adaptive");

    // Okabe-Ito, in the order of FAMILIES and then for other policies: tells the lines apart for
    // colour-blind readers too, and stays clear of the greys of text and axes.
    private static final Color[] PALETTE = {
        new Color(0x00, 0x72, 0xB2),
        new Color(0xE6, 0x9F, 0x00),
        new Color(0x56, 0xB4, 0xE9),
        new Color(0xD5, 0x5E, 0x00),
        new Color(0x00, 0x9E, 0x73),
        new Color(0xCC, 0x79, 0xA7),
        new Color(0xF0, 0xE4, 0x42),
        new Color(0x00, 0x00, 0x00)
    };

    private static final String FONT = "DejaVu Sans";

    private BenchCharts() {}

    /** Output tokens per second against running-batch size, best configuration per family. */
    static void throughput(List<BenchRow> rows, String title, Path file) throws IOException {
        NavigableMap<Integer, List<BenchRow>> byBatch = BenchReport.byBatch(rows);
        Map<String, YIntervalSeries> series = new LinkedHashMap<>();
        for (Map.Entry<Integer, List<BenchRow>> entry : byBatch.entrySet()) {
            for (BenchRow best : bestOfEachFamily(entry.getValue()).values()) {
                series.computeIfAbsent(family(best), YIntervalSeries::new)
                        .add(
                                entry.getKey(),
                                best.tokensPerSecond(),
                                best.tokensPerSecondMin(),
                                best.tokensPerSecondMax());
            }
        }
        YIntervalSeriesCollection dataset = new YIntervalSeriesCollection();
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, YIntervalSeries> entry : series.entrySet()) {
            dataset.addSeries(entry.getValue());
            names.add(entry.getKey());
        }

        // Batch sizes grow in powers of two, so a log2 axis spaces them evenly.
        LogAxis batchAxis = new LogAxis("running batch (sequences in flight)");
        batchAxis.setBase(2);
        batchAxis.setNumberFormatOverride(new DecimalFormat("0"));
        batchAxis.setTickUnit(new NumberTickUnit(1), false, true);
        batchAxis.setMinorTickCount(1);
        int smallest = byBatch.isEmpty() ? 1 : byBatch.firstKey();
        int largest = byBatch.isEmpty() ? 64 : byBatch.lastKey();
        // Explicit bounds: with a single batch size the automatic range of a log axis collapses.
        batchAxis.setRange(smallest / 1.5, largest * 1.5);

        NumberAxis rateAxis = new NumberAxis("output tokens / s (median, bars: min–max)");
        rateAxis.setAutoRangeIncludesZero(true);

        XYErrorRenderer renderer = new XYErrorRenderer();
        renderer.setDrawXError(false);
        renderer.setDefaultLinesVisible(true);
        renderer.setDefaultShapesVisible(true);
        renderer.setCapLength(8);
        renderer.setErrorStroke(new BasicStroke(1.5f));

        XYPlot plot = new XYPlot(dataset, batchAxis, rateAxis, renderer);
        save(new JFreeChart(title + ": throughput by running batch", plot), names, file);
    }

    /**
     * Acceptance rate at each draft position for the largest running batch, best configuration per
     * family: the largest batch is where the policies differ most, and one line per family keeps
     * the chart readable.
     */
    static void acceptance(List<BenchRow> rows, String title, Path file) throws IOException {
        NavigableMap<Integer, List<BenchRow>> byBatch = BenchReport.byBatch(rows);
        XYSeriesCollection dataset = new XYSeriesCollection();
        List<String> names = new ArrayList<>();
        int positions = 1;
        String batchNote = "";
        if (!byBatch.isEmpty()) {
            int largest = byBatch.lastKey();
            batchNote = " (running batch " + largest + ")";
            for (Map.Entry<String, BenchRow> entry :
                    bestOfEachFamily(byBatch.get(largest)).entrySet()) {
                double[] acceptance = BenchReport.acceptance(entry.getValue());
                if (acceptance.length == 0) {
                    continue;
                }
                XYSeries series = new XYSeries(entry.getValue().label(), false, true);
                for (int p = 0; p < acceptance.length; p++) {
                    // A null leaves a gap: nothing was verified at that position.
                    series.add(p + 1, Double.isNaN(acceptance[p]) ? null : acceptance[p]);
                }
                dataset.addSeries(series);
                names.add(entry.getKey());
                positions = Math.max(positions, acceptance.length);
            }
        }

        NumberAxis positionAxis = new NumberAxis("draft position");
        positionAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        positionAxis.setRange(0.5, positions + 0.5);
        NumberAxis rateAxis = new NumberAxis("accepted / verified draft tokens");
        rateAxis.setRange(0, 1.02);
        rateAxis.setTickUnit(new NumberTickUnit(0.1));

        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);

        XYPlot plot = new XYPlot(dataset, positionAxis, rateAxis, renderer);
        save(
                new JFreeChart(title + ": acceptance by draft position" + batchNote, plot),
                names,
                file);
    }

    /** The five policy families of the charts; {@code fixed} and {@code tetris} span windows. */
    static String family(BenchRow row) {
        return switch (row.policy()) {
            case "fixed" -> "fixed (best k)";
            case "tetris" -> "tetris (best k,e)";
            default -> row.policy();
        };
    }

    /** The fastest row of each family, in legend order (unknown policies last). */
    private static Map<String, BenchRow> bestOfEachFamily(List<BenchRow> rows) {
        Map<String, BenchRow> best = new LinkedHashMap<>();
        for (String family : FAMILIES) {
            best.put(family, null);
        }
        for (BenchRow row : rows) {
            best.merge(
                    family(row),
                    row,
                    (a, b) -> a == null || b.tokensPerSecond() > a.tokensPerSecond() ? b : a);
        }
        best.values().removeIf(r -> r == null);
        return best;
    }

    /** The colour of a family's line in both charts. */
    static Color colour(String family) {
        int index = FAMILIES.indexOf(family);
        if (index < 0) {
            index =
                    FAMILIES.size()
                            + Math.floorMod(family.hashCode(), PALETTE.length - FAMILIES.size());
        }
        return PALETTE[index];
    }

    /** Applies the house style, then the per-family series styles, and writes the PNG. */
    static void save(JFreeChart chart, List<String> families, Path file) throws IOException {
        StandardChartTheme theme = new StandardChartTheme("tetris-bench");
        theme.setExtraLargeFont(new Font(FONT, Font.BOLD, 20));
        theme.setLargeFont(new Font(FONT, Font.BOLD, 15));
        theme.setRegularFont(new Font(FONT, Font.PLAIN, 14));
        theme.setSmallFont(new Font(FONT, Font.PLAIN, 12));
        theme.setChartBackgroundPaint(Color.WHITE);
        theme.setPlotBackgroundPaint(Color.WHITE);
        theme.setLegendBackgroundPaint(Color.WHITE);
        theme.setDomainGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        theme.setRangeGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        theme.setAxisOffset(RectangleInsets.ZERO_INSETS);
        // Applying a theme clears the renderer's series paints and strokes, so style afterwards.
        theme.apply(chart);
        XYPlot plot = chart.getXYPlot();
        XYItemRenderer renderer = plot.getRenderer();
        for (int s = 0; s < families.size(); s++) {
            renderer.setSeriesPaint(s, colour(families.get(s)));
            renderer.setSeriesStroke(s, new BasicStroke(2.5f));
        }
        plot.setDomainGridlinesVisible(true);
        plot.setRangeGridlinesVisible(true);
        plot.setOutlinePaint(Color.GRAY);
        plot.setNoDataMessage("no results");
        ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    }
}
