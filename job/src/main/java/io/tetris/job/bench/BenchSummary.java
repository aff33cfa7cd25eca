package io.tetris.job.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.measure.RunResult;
import io.tetris.policy.CalibrationReport;
import io.tetris.policy.CostReport;
import io.tetris.policy.PolicyConfig.Kind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The bench's acceptance figures over every workload, with their intervals: tetris-adaptive against
 * the best other configuration and the best fixed window, TETRIS's verification success rate
 * against fixed k at equal budget, the acceptance predictor's quality and the cost model's error.
 */
public final class BenchSummary {

    /** Bootstrap resamples for success-rate intervals. */
    static final int RESAMPLES = 2000;

    private BenchSummary() {}

    /**
     * The measured runs of one workload.
     *
     * @param name the workload's name
     * @param runs configuration key ({@link #key}) to its repeats, in run order
     */
    public record Measured(String name, Map<String, List<RunResult>> runs) {}

    public static String key(BenchConfig c, int batch) {
        return BenchRow.label(c.policyName(), c.k(), c.extra()) + "@" + batch;
    }

    /** Markdown of every claim; the same figures go into {@code json} under "summary". */
    public static String markdown(
            List<Measured> workloads,
            List<Integer> batches,
            List<BenchConfig> matrix,
            ObjectNode json) {
        ArrayNode out = json.putArray("summary");
        StringBuilder md = new StringBuilder();
        speculationAgainstNone(workloads, batches, matrix, out, md);
        adaptiveAgainstBest(workloads, batches, matrix, out, md);
        tetrisAgainstFixed(workloads, batches, matrix, out, md);
        predictor(workloads, batches, matrix, out, md);
        costModel(workloads, batches, matrix, out, md);
        return md.toString();
    }

    /** tetris-adaptive against the best other configuration and the best fixed window. */
    private static void adaptiveAgainstBest(
            List<Measured> workloads,
            List<Integer> batches,
            List<BenchConfig> matrix,
            ArrayNode out,
            StringBuilder md) {
        md.append("## tetris-adaptive against every other policy\n\n");
        md.append(
                "Ratio of tokens/s, mean over repeats paired by index (geometric), with the 95 %"
                        + " interval (Student's t over the log ratios). The best other"
                        + " configuration is the one with the highest median, `none` included;"
                        + " picking it after the fact favours it.\n\n");
        md.append(
                "| workload | batch | best other | adaptive / best other | >= 0.97 | best fixed |"
                        + " adaptive / best fixed | >= 1.05 |\n|---|---:|---|---|---|---|---|---|\n");
        for (Measured w : workloads) {
            for (int batch : batches) {
                List<RunResult> adaptive = runs(w, matrix, batch, Kind.TETRIS_ADAPTIVE);
                if (adaptive == null) {
                    continue;
                }
                BenchConfig other = best(w, matrix, batch, c -> c.kind() != Kind.TETRIS_ADAPTIVE);
                BenchConfig fixed = best(w, matrix, batch, c -> c.kind() == Kind.FIXED);
                var vsOther =
                        BenchStatistics.throughputRatio(adaptive, w.runs().get(key(other, batch)));
                var vsFixed =
                        BenchStatistics.throughputRatio(adaptive, w.runs().get(key(fixed, batch)));
                md.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | %d | %s | %s | %s | %s | %s | %s |%n",
                                w.name(),
                                batch,
                                label(other),
                                vsOther.format(""),
                                verdict(vsOther.estimate() >= 0.97, vsOther.above(0.97)),
                                label(fixed),
                                vsFixed.format(""),
                                verdict(vsFixed.estimate() >= 1.05, vsFixed.above(1.05))));
                ObjectNode o = out.addObject();
                o.put("claim", "adaptive_vs_best");
                o.put("workload", w.name());
                o.put("batch", batch);
                o.put("best_other", label(other));
                interval(o.putObject("ratio_vs_best_other"), vsOther);
                o.put("best_fixed", label(fixed));
                interval(o.putObject("ratio_vs_best_fixed"), vsFixed);
            }
        }
        md.append(
                "\n\"yes\" where the estimate reaches the bound; \"yes, CI\" where the whole"
                        + " interval does.\n");
    }

    /** TETRIS against fixed k at equal budget: the verification success rate. */
    private static void tetrisAgainstFixed(
            List<Measured> workloads,
            List<Integer> batches,
            List<BenchConfig> matrix,
            ArrayNode out,
            StringBuilder md) {
        md.append("\n## TETRIS against fixed k at equal budget (verification success rate)\n\n");
        md.append(
                "Relative gain of tetris k, e over fixed k (same budget k x B per round), with a"
                        + " 95 % interval from a paired bootstrap over the workload's requests ("
                        + RESAMPLES
                        + " resamples). tetris ranks by the acceptance predictor"
                        + " (`tetris.tetris.ranking: predicted`).\n\n");
        md.append(
                "| workload | batch | k | e | fixed VSR | tetris VSR | gain | >= +5 %, CI > 0"
                        + " |\n|---|---:|---:|---:|---:|---:|---|---|\n");
        for (Measured w : workloads) {
            for (int batch : batches) {
                for (BenchConfig t : matrix) {
                    if (t.kind() != Kind.TETRIS) {
                        continue;
                    }
                    List<RunResult> f =
                            w.runs().get(key(new BenchConfig(Kind.FIXED, t.k(), 0), batch));
                    List<RunResult> tr = w.runs().get(key(t, batch));
                    if (f == null || tr == null) {
                        continue;
                    }
                    var gain = BenchStatistics.successRateGain(tr.get(0), f.get(0), RESAMPLES, 42);
                    md.append(
                            String.format(
                                    Locale.ROOT,
                                    "| %s | %d | %d | %d | %.3f | %.3f | %s | %s |%n",
                                    w.name(),
                                    batch,
                                    t.k(),
                                    t.extra(),
                                    f.get(0).stats().acceptanceRate(),
                                    tr.get(0).stats().acceptanceRate(),
                                    percent(gain),
                                    gain.estimate() >= 0.05 && gain.low() > 0 ? "yes" : "**no**"));
                    ObjectNode o = out.addObject();
                    o.put("claim", "tetris_vsr_vs_fixed");
                    o.put("workload", w.name());
                    o.put("batch", batch);
                    o.put("k", t.k());
                    o.put("extra", t.extra());
                    interval(o.putObject("relative_gain"), gain);
                }
            }
        }
    }

    /** The acceptance predictor's quality, where a policy scored one. */
    private static void predictor(
            List<Measured> workloads,
            List<Integer> batches,
            List<BenchConfig> matrix,
            ArrayNode out,
            StringBuilder md) {
        md.append("\n## Acceptance predictor\n\n");
        md.append(
                "Scored prequentially (each estimate against the outcome of the round it was made"
                        + " for, before that outcome trains it) over the tokens each run verified up"
                        + " to the first rejection. For tetris the configuration that scored the most"
                        + " tokens. Conditional: each token's estimate given its predecessors were"
                        + " accepted, over tokens up to the first rejection; raw = the draft"
                        + " probability as that estimate. Survival: the product of the estimates up"
                        + " to a token (what TETRIS ranks by) against whether the token was accepted,"
                        + " over every verified token.\n\n");
        md.append(
                "| workload | batch | policy | scored | survival AUC | survival ECE | conditional"
                        + " AUC | conditional ECE | Brier | raw AUC | raw ECE | AUC by position"
                        + " |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Measured w : workloads) {
            for (int batch : batches) {
                for (Kind kind : List.of(Kind.TETRIS, Kind.TETRIS_ADAPTIVE)) {
                    BenchConfig c = mostScored(w, matrix, batch, kind);
                    if (c == null) {
                        continue;
                    }
                    CalibrationReport r =
                            w.runs().get(key(c, batch)).get(0).calibration().orElseThrow();
                    md.append(
                            String.format(
                                    Locale.ROOT,
                                    "| %s | %d | %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f"
                                            + " | %.3f | %s |%n",
                                    w.name(),
                                    batch,
                                    label(c),
                                    r.survival().observations(),
                                    r.survival().auc(),
                                    r.survival().ece(),
                                    r.predicted().auc(),
                                    r.predicted().ece(),
                                    r.predicted().brier(),
                                    r.raw().auc(),
                                    r.raw().ece(),
                                    aucByPosition(r)));
                    ObjectNode o = out.addObject();
                    o.put("claim", "predictor");
                    o.put("workload", w.name());
                    o.put("batch", batch);
                    o.put("policy", label(c));
                    o.put("scored", r.survival().observations());
                    o.put("survival_auc", r.survival().auc());
                    o.put("survival_ece", r.survival().ece());
                    o.put("auc", r.predicted().auc());
                    o.put("ece", r.predicted().ece());
                    o.put("brier", r.predicted().brier());
                    o.put("raw_auc", r.raw().auc());
                    o.put("raw_ece", r.raw().ece());
                }
            }
        }
    }

    /** The cost model's error on rounds it had not seen. */
    private static void costModel(
            List<Measured> workloads,
            List<Integer> batches,
            List<BenchConfig> matrix,
            ArrayNode out,
            StringBuilder md) {
        md.append("\n## Cost model: predicted against measured round time\n\n");
        md.append(
                "Median relative error of each round's model time (draft steps plus verification"
                        + " pass) as predicted before the round against the time measured. Own:"
                        + " tetris-adaptive's online model in its own runs (median over repeats)."
                        + " Shared: one online model trained on every round of every run of the"
                        + " bench in order, predicting each round before learning from it (median"
                        + " over the batch's runs).\n\n");
        md.append(
                "| workload | batch | own: rounds | own: median error | shared: rounds | shared:"
                        + " median error |\n|---|---:|---:|---:|---:|---:|\n");
        for (Measured w : workloads) {
            for (int batch : batches) {
                List<RunResult> adaptive = runs(w, matrix, batch, Kind.TETRIS_ADAPTIVE);
                if (adaptive == null) {
                    continue;
                }
                List<CostReport> own = adaptive.stream().flatMap(r -> r.cost().stream()).toList();
                List<CostReport> shared = new ArrayList<>();
                for (BenchConfig c : matrix) {
                    for (RunResult r : w.runs().get(key(c, batch))) {
                        r.shadowCost().ifPresent(shared::add);
                    }
                }
                double ownMedian = medianError(own);
                double sharedMedian = medianError(shared);
                md.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | %d | %d | %.1f%% | %d | %.1f%% |%n",
                                w.name(),
                                batch,
                                own.stream().mapToLong(CostReport::rounds).sum(),
                                100 * ownMedian,
                                shared.stream().mapToLong(CostReport::rounds).sum(),
                                100 * sharedMedian));
                ObjectNode o = out.addObject();
                o.put("claim", "cost_model");
                o.put("workload", w.name());
                o.put("batch", batch);
                o.put("own_median_relative_error", ownMedian);
                o.put("shared_median_relative_error", sharedMedian);
            }
        }
    }

    /** The AUC at each draft position that was scored, space-separated. */
    private static String aucByPosition(CalibrationReport r) {
        StringBuilder positions = new StringBuilder();
        for (CalibrationReport.Score s : r.byPosition()) {
            if (s.observations() > 0) {
                positions.append(
                        String.format(
                                Locale.ROOT, "%s%.2f", positions.isEmpty() ? "" : " ", s.auc()));
            }
        }
        return positions.toString();
    }

    private static double medianError(List<CostReport> reports) {
        double[] m =
                reports.stream()
                        .filter(r -> r.rounds() > 0)
                        .mapToDouble(CostReport::medianRelativeError)
                        .sorted()
                        .toArray();
        return io.tetris.measure.Median.of(m);
    }

    /**
     * Whether speculating pays at all: the best speculative configuration (highest median
     * decode-only tokens/s) against {@code none}, decode-only, since prefill is the same for both.
     */
    private static void speculationAgainstNone(
            List<Measured> workloads,
            List<Integer> batches,
            List<BenchConfig> matrix,
            ArrayNode out,
            StringBuilder md) {
        md.append("## Speculation against plain decoding\n\n");
        md.append(
                "Ratio of decode-only tokens/s (wall time without prefill) of the best speculative"
                        + " configuration to `none`, mean over repeats paired by index"
                        + " (geometric), with the 95 % interval (Student's t over the log ratios);"
                        + " picking the best after the fact favours it.\n\n");
        md.append(
                "| workload | batch | best speculative | decode tokens/s | none | best / none |\n"
                        + "|---|---:|---|---:|---:|---|\n");
        for (Measured w : workloads) {
            for (int batch : batches) {
                List<RunResult> none = runs(w, matrix, batch, Kind.NONE);
                if (none == null) {
                    continue;
                }
                BenchConfig best =
                        best(
                                w,
                                matrix,
                                batch,
                                c -> c.kind() != Kind.NONE,
                                BenchSummary::medianDecodeRate);
                List<RunResult> bestRuns = w.runs().get(key(best, batch));
                var ratio = BenchStatistics.decodeRatio(bestRuns, none);
                md.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | %d | %s | %.1f | %.1f | %s |%n",
                                w.name(),
                                batch,
                                label(best),
                                medianDecodeRate(bestRuns),
                                medianDecodeRate(none),
                                ratio.format("")));
                ObjectNode o = out.addObject();
                o.put("claim", "speculation_vs_none_decode");
                o.put("workload", w.name());
                o.put("batch", batch);
                o.put("best", label(best));
                interval(o.putObject("ratio"), ratio);
            }
        }
        md.append("\n");
    }

    static double medianDecodeRate(List<RunResult> runs) {
        return io.tetris.measure.Median.of(
                runs.stream().mapToDouble(RunResult::decodeTokensPerSecond).sorted().toArray());
    }

    private static List<RunResult> runs(
            Measured w, List<BenchConfig> matrix, int batch, Kind kind) {
        return matrix.stream()
                .filter(c -> c.kind() == kind)
                .findFirst()
                .map(c -> w.runs().get(key(c, batch)))
                .orElse(null);
    }

    private static BenchConfig best(
            Measured w,
            List<BenchConfig> matrix,
            int batch,
            java.util.function.Predicate<BenchConfig> which) {
        return best(w, matrix, batch, which, BenchSummary::medianRate);
    }

    /** The configuration among {@code which} with the highest {@code rate} of its repeats. */
    private static BenchConfig best(
            Measured w,
            List<BenchConfig> matrix,
            int batch,
            java.util.function.Predicate<BenchConfig> which,
            java.util.function.ToDoubleFunction<List<RunResult>> rate) {
        return matrix.stream()
                .filter(which)
                .filter(c -> w.runs().containsKey(key(c, batch)))
                .max(
                        Comparator.comparingDouble(
                                c -> rate.applyAsDouble(w.runs().get(key(c, batch)))))
                .orElseThrow();
    }

    private static BenchConfig mostScored(
            Measured w, List<BenchConfig> matrix, int batch, Kind kind) {
        return matrix.stream()
                .filter(c -> c.kind() == kind && w.runs().containsKey(key(c, batch)))
                .filter(c -> w.runs().get(key(c, batch)).get(0).calibration().isPresent())
                .max(
                        Comparator.comparingLong(
                                c ->
                                        w.runs()
                                                .get(key(c, batch))
                                                .get(0)
                                                .calibration()
                                                .get()
                                                .observations()))
                .orElse(null);
    }

    static double medianRate(List<RunResult> runs) {
        return io.tetris.measure.Median.of(
                runs.stream().mapToDouble(RunResult::tokensPerSecond).sorted().toArray());
    }

    private static String label(BenchConfig c) {
        return BenchRow.label(c.policyName(), c.k(), c.extra());
    }

    private static String verdict(boolean estimate, boolean interval) {
        return interval ? "yes, CI" : estimate ? "yes" : "**no**";
    }

    private static String percent(BenchStatistics.Interval i) {
        if (Double.isNaN(i.low())) {
            return String.format(Locale.ROOT, "%+.1f%%", 100 * i.estimate());
        }
        return String.format(
                Locale.ROOT,
                "%+.1f%% [%+.1f%%, %+.1f%%]",
                100 * i.estimate(),
                100 * i.low(),
                100 * i.high());
    }

    private static void interval(ObjectNode o, BenchStatistics.Interval i) {
        o.put("estimate", i.estimate());
        o.put("low", i.low());
        o.put("high", i.high());
    }
}
