package io.tetris.job.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Writes the results of {@code tetris bench}: {@code results.csv} for further analysis, {@code
 * results.md} for reading, and the two charts it links to.
 */
public final class BenchReport {

    static final String CSV = "results.csv";
    static final String MARKDOWN = "results.md";
    static final String THROUGHPUT_PNG = "throughput.png";
    static final String ACCEPTANCE_PNG = "acceptance.png";

    private static final String MISSING = "–";

    private static final List<String> CSV_COLUMNS =
            List.of(
                    "policy",
                    "label",
                    "k",
                    "extra",
                    "batch",
                    "repeats",
                    "tokens_per_second",
                    "tokens_per_second_min",
                    "tokens_per_second_max",
                    "output_tokens",
                    "target_passes",
                    "tokens_per_target_pass",
                    "draft_tokens",
                    "verified_draft_tokens",
                    "accepted_tokens",
                    "verification_success_rate",
                    "mean_acceptance_length",
                    "budget_utilisation",
                    "model_ms_per_round",
                    "host_ms_per_round",
                    "decode_tokens_per_second",
                    "prefill_ms_per_round",
                    "draft_ms_per_round",
                    "verify_ms_per_round",
                    "other_ms_per_round");

    private BenchReport() {}

    /** Writes the CSV, the Markdown report and both charts into {@code directory}. */
    public static void write(List<BenchRow> rows, String title, String machineNote, Path directory)
            throws IOException {
        Files.createDirectories(directory);
        Files.writeString(directory.resolve(CSV), csv(rows), StandardCharsets.UTF_8);
        Files.writeString(
                directory.resolve(MARKDOWN),
                markdown(rows, title, machineNote),
                StandardCharsets.UTF_8);
        BenchCharts.throughput(rows, title, directory.resolve(THROUGHPUT_PNG));
        BenchCharts.acceptance(rows, title, directory.resolve(ACCEPTANCE_PNG));
    }

    /**
     * One line per row; the acceptance columns run to the longest window of any row so that every
     * line has the same number of cells.
     */
    public static String csv(List<BenchRow> rows) {
        int positions = longestAcceptance(rows);
        StringBuilder out = new StringBuilder();
        List<String> header = new ArrayList<>(CSV_COLUMNS);
        for (int p = 1; p <= positions; p++) {
            header.add("acceptance_pos" + p);
        }
        out.append(String.join(",", header)).append('\n');
        for (BenchRow row : rows) {
            List<String> cells = new ArrayList<>();
            cells.add(csvText(row.policy()));
            cells.add(csvText(row.label()));
            cells.add(Integer.toString(row.k()));
            cells.add(Integer.toString(row.extra()));
            cells.add(Integer.toString(row.batch()));
            cells.add(Integer.toString(row.repeats()));
            cells.add(fixed(row.tokensPerSecond(), 1));
            cells.add(fixed(row.tokensPerSecondMin(), 1));
            cells.add(fixed(row.tokensPerSecondMax(), 1));
            cells.add(Long.toString(row.outputTokens()));
            cells.add(Long.toString(row.targetPasses()));
            cells.add(fixed(row.tokensPerTargetPass(), 4));
            cells.add(Long.toString(row.draftTokens()));
            cells.add(Long.toString(row.verifiedDraftTokens()));
            cells.add(Long.toString(row.acceptedTokens()));
            cells.add(fixed(row.verificationSuccessRate(), 4));
            cells.add(fixed(row.meanAcceptanceLength(), 4));
            cells.add(fixed(row.budgetUtilisation(), 4));
            cells.add(fixed(row.modelMillisPerRound(), 3));
            cells.add(fixed(row.hostMillisPerRound(), 3));
            cells.add(fixed(row.decodeTokensPerSecond(), 1));
            cells.add(fixed(row.phaseMillis().prefill(), 3));
            cells.add(fixed(row.phaseMillis().draft(), 3));
            cells.add(fixed(row.phaseMillis().verify(), 3));
            cells.add(fixed(row.phaseMillis().host(), 3));
            double[] acceptance = acceptance(row);
            for (int p = 0; p < positions; p++) {
                cells.add(p < acceptance.length ? fixed(acceptance[p], 4) : "");
            }
            out.append(String.join(",", cells)).append('\n');
        }
        return out.toString();
    }

    /** The Markdown report: one throughput table per running-batch size, then acceptance. */
    public static String markdown(List<BenchRow> rows, String title, String machineNote) {
        Map<Integer, List<BenchRow>> byBatch = byBatch(rows);
        StringBuilder out = new StringBuilder();
        out.append("# ").append(title).append("\n\n");
        if (machineNote != null && !machineNote.isBlank()) {
            out.append(machineNote.strip()).append("\n\n");
        }
        if (!byBatch.isEmpty()) {
            out.append(
                    "Rows are sorted by median output tokens per second; bold marks the fastest"
                            + " configuration and the one with the highest verification success"
                            + " rate (VSR) of each running batch.\n\n");
        }
        for (Map.Entry<Integer, List<BenchRow>> entry : byBatch.entrySet()) {
            out.append("## Running batch ").append(entry.getKey()).append("\n\n");
            throughputTable(entry.getValue(), out);
            out.append('\n');
        }

        out.append("## Acceptance by draft position\n\n");
        out.append(
                "Share of the verified draft tokens at each draft position that the target"
                        + " accepted.\n\n");
        for (Map.Entry<Integer, List<BenchRow>> entry : byBatch.entrySet()) {
            out.append("### Running batch ").append(entry.getKey()).append("\n\n");
            acceptanceTable(entry.getValue(), out);
            out.append('\n');
        }

        out.append("![throughput](").append(THROUGHPUT_PNG).append(")\n\n");
        out.append("![acceptance by position](").append(ACCEPTANCE_PNG).append(")\n");
        return out.toString();
    }

    private static void throughputTable(List<BenchRow> rows, StringBuilder out) {
        out.append(
                "| label | tokens/s (median) | spread (min–max) | decode tokens/s | tokens/target"
                        + " pass | draft tok | verified | accepted | VSR | mean acc. len | budget use"
                        + " | model ms/round | host ms/round | prefill / draft / verify / other"
                        + " ms/round |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        BenchRow fastest = rows.get(0);
        BenchRow bestVsr = null;
        for (BenchRow row : rows) {
            if (!Double.isNaN(row.verificationSuccessRate())
                    && (bestVsr == null
                            || row.verificationSuccessRate() > bestVsr.verificationSuccessRate())) {
                bestVsr = row;
            }
        }
        for (BenchRow row : rows) {
            List<String> cells =
                    List.of(
                            markdownText(row.label()),
                            fixedOrMissing(row.tokensPerSecond(), 1),
                            fixedOrMissing(row.tokensPerSecondMin(), 1)
                                    + "–"
                                    + fixedOrMissing(row.tokensPerSecondMax(), 1),
                            fixedOrMissing(row.decodeTokensPerSecond(), 1),
                            fixedOrMissing(row.tokensPerTargetPass(), 2),
                            Long.toString(row.draftTokens()),
                            Long.toString(row.verifiedDraftTokens()),
                            Long.toString(row.acceptedTokens()),
                            percent(row.verificationSuccessRate()),
                            fixedOrMissing(row.meanAcceptanceLength(), 2),
                            percent(row.budgetUtilisation()),
                            fixedOrMissing(row.modelMillisPerRound(), 2),
                            fixedOrMissing(row.hostMillisPerRound(), 2),
                            fixedOrMissing(row.phaseMillis().prefill(), 2)
                                    + " / "
                                    + fixedOrMissing(row.phaseMillis().draft(), 2)
                                    + " / "
                                    + fixedOrMissing(row.phaseMillis().verify(), 2)
                                    + " / "
                                    + fixedOrMissing(row.phaseMillis().host(), 2));
            tableRow(cells, row == fastest || row == bestVsr, out);
        }
    }

    private static void acceptanceTable(List<BenchRow> rows, StringBuilder out) {
        // Rows without draft tokens (no speculation) would only add a line of dashes.
        List<BenchRow> drafting = rows.stream().filter(r -> acceptance(r).length > 0).toList();
        int positions = longestAcceptance(drafting);
        if (positions == 0) {
            out.append("No draft tokens were verified.\n");
            return;
        }
        StringBuilder header = new StringBuilder("| label |");
        StringBuilder rule = new StringBuilder("|---|");
        for (int p = 1; p <= positions; p++) {
            header.append(" pos ").append(p).append(" |");
            rule.append("---:|");
        }
        out.append(header).append('\n').append(rule).append('\n');
        for (BenchRow row : drafting) {
            double[] acceptance = acceptance(row);
            List<String> cells = new ArrayList<>();
            cells.add(markdownText(row.label()));
            for (int p = 0; p < positions; p++) {
                cells.add(p < acceptance.length ? percent(acceptance[p]) : MISSING);
            }
            tableRow(cells, false, out);
        }
    }

    private static void tableRow(List<String> cells, boolean bold, StringBuilder out) {
        out.append('|');
        for (String cell : cells) {
            out.append(' ').append(bold ? "**" + cell + "**" : cell).append(" |");
        }
        out.append('\n');
    }

    /** Rows grouped by ascending batch size, each group fastest first. */
    static NavigableMap<Integer, List<BenchRow>> byBatch(List<BenchRow> rows) {
        NavigableMap<Integer, List<BenchRow>> byBatch = new TreeMap<>();
        for (BenchRow row : rows) {
            byBatch.computeIfAbsent(row.batch(), b -> new ArrayList<>()).add(row);
        }
        Comparator<BenchRow> fastestFirst =
                Comparator.comparingDouble(BenchRow::tokensPerSecond).reversed();
        byBatch.values().forEach(group -> group.sort(fastestFirst));
        return byBatch;
    }

    static double[] acceptance(BenchRow row) {
        return row.acceptanceByPosition() == null ? new double[0] : row.acceptanceByPosition();
    }

    private static int longestAcceptance(List<BenchRow> rows) {
        return rows.stream().mapToInt(r -> acceptance(r).length).max().orElse(0);
    }

    private static String fixed(double value, int decimals) {
        return Double.isFinite(value)
                ? String.format(Locale.ROOT, "%." + decimals + "f", value)
                : "";
    }

    private static String fixedOrMissing(double value, int decimals) {
        return Double.isFinite(value) ? fixed(value, decimals) : MISSING;
    }

    private static String percent(double rate) {
        return Double.isFinite(rate) ? String.format(Locale.ROOT, "%.1f%%", 100 * rate) : MISSING;
    }

    private static String csvText(String text) {
        if (text.contains(",") || text.contains("\"") || text.contains("\n")) {
            return '"' + text.replace("\"", "\"\"") + '"';
        }
        return text;
    }

    private static String markdownText(String text) {
        return text.replace("|", "\\|");
    }
}
