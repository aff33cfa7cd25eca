package io.tetris.job.bench;

import io.tetris.policy.CalibrationReport;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The benchmark's verdicts in words: whether each claim of the performance goal holds at every
 * batch size, with the numbers, plus calibration and how well the simulator predicts measured runs.
 */
public final class BenchFindings {

    private BenchFindings() {}

    /**
     * Per batch: the fastest configuration of each family, and whether tetris beats the best fixed
     * k and dsd in tokens/s and verification success rate, and tetris-adaptive beats tetris.
     */
    public static String claims(List<BenchRow> rows) {
        StringBuilder out = new StringBuilder("## Claims\n\n");
        out.append(
                "Fastest configuration of each family per running batch (tokens/s, verification"
                        + " success rate).\n\n");
        out.append(
                "| batch | best fixed | dsd | best tetris | tetris-adaptive | tetris > fixed, dsd"
                        + " (tok/s) | tetris > fixed, dsd (VSR) | adaptive > tetris (tok/s) |"
                        + " adaptive > tetris (VSR) |\n");
        out.append("|---:|---|---|---|---|---|---|---|---|\n");
        for (int batch : new TreeSet<>(rows.stream().map(BenchRow::batch).toList())) {
            Optional<BenchRow> fixed = best(rows, batch, "fixed");
            Optional<BenchRow> dsd = best(rows, batch, "dsd");
            Optional<BenchRow> tetris = best(rows, batch, "tetris");
            Optional<BenchRow> adaptive = best(rows, batch, "tetris-adaptive");
            if (fixed.isEmpty() || dsd.isEmpty() || tetris.isEmpty() || adaptive.isEmpty()) {
                continue;
            }
            BenchRow f = fixed.get();
            BenchRow d = dsd.get();
            BenchRow t = tetris.get();
            BenchRow a = adaptive.get();
            out.append(
                    String.format(
                            Locale.ROOT,
                            "| %d | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                            batch,
                            cell(f),
                            cell(d),
                            cell(t),
                            cell(a),
                            verdict(
                                    t.tokensPerSecond(),
                                    Math.max(f.tokensPerSecond(), d.tokensPerSecond())),
                            verdict(
                                    t.verificationSuccessRate(),
                                    Math.max(
                                            f.verificationSuccessRate(),
                                            d.verificationSuccessRate())),
                            verdict(a.tokensPerSecond(), t.tokensPerSecond()),
                            verdict(a.verificationSuccessRate(), t.verificationSuccessRate())));
        }
        return out.toString();
    }

    /** Calibration error of raw draft probabilities against the calibrated estimates. */
    public static String calibration(Map<String, CalibrationReport> reports) {
        if (reports.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder("\n## Calibration of tetris-adaptive\n\n");
        out.append(
                "Scored prequentially: each estimate against the outcome of the round it was"
                        + " made for, before that outcome trains the predictor. AUC = area under the ROC curve for \"accepted\"; ECE = expected"
                        + " calibration error (10 bins).\n\n");
        out.append(
                "| run | scored tokens | AUC raw draft prob. | AUC predicted | ECE raw | ECE"
                        + " predicted | Brier raw | Brier predicted |\n"
                        + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        reports.forEach(
                (where, r) ->
                        out.append(
                                String.format(
                                        Locale.ROOT,
                                        "| %s | %d | %.3f | %.3f | %.4f | %.4f | %.4f | %.4f |%n",
                                        where,
                                        r.observations(),
                                        r.raw().auc(),
                                        r.predicted().auc(),
                                        r.raw().ece(),
                                        r.predicted().ece(),
                                        r.raw().brier(),
                                        r.predicted().brier())));
        return out.toString();
    }

    /** How far the simulator's replay under the measured cost model is from measured runs. */
    public static String projectionError(List<BenchRow> measured, List<BenchRow> simulated) {
        StringBuilder out = new StringBuilder("\n## Simulator check against measured runs\n\n");
        out.append(
                "The recorded trace replayed under this machine's measured cost model, against the"
                        + " measured median, per configuration.\n\n");
        out.append(
                "| batch | configurations | mean abs. error | largest abs. error | same fastest"
                        + " family | counters identical |\n|---:|---:|---:|---:|---|---:|\n");
        for (int batch : new TreeSet<>(measured.stream().map(BenchRow::batch).toList())) {
            double sum = 0;
            double worst = 0;
            int n = 0;
            int identical = 0;
            for (BenchRow m : measured) {
                if (m.batch() != batch) {
                    continue;
                }
                BenchRow s = match(simulated, m);
                if (s == null) {
                    continue;
                }
                double error = Math.abs(s.tokensPerSecond() / m.tokensPerSecond() - 1);
                sum += error;
                worst = Math.max(worst, error);
                n++;
                if (s.acceptedTokens() == m.acceptedTokens()
                        && s.verifiedDraftTokens() == m.verifiedDraftTokens()
                        && s.targetPasses() == m.targetPasses()) {
                    identical++;
                }
            }
            if (n == 0) {
                continue;
            }
            out.append(
                    String.format(
                            Locale.ROOT,
                            "| %d | %d | %.1f%% | %.1f%% | %s | %d of %d |%n",
                            batch,
                            n,
                            100 * sum / n,
                            100 * worst,
                            fastestFamily(measured, batch).equals(fastestFamily(simulated, batch))
                                    ? "yes"
                                    : "no (" + fastestFamily(simulated, batch) + ")",
                            identical,
                            n));
        }
        return out.toString();
    }

    private static BenchRow match(List<BenchRow> rows, BenchRow like) {
        return rows.stream()
                .filter(
                        r ->
                                r.batch() == like.batch()
                                        && r.policy().equals(like.policy())
                                        && r.k() == like.k()
                                        && r.extra() == like.extra())
                .findFirst()
                .orElse(null);
    }

    private static String fastestFamily(List<BenchRow> rows, int batch) {
        return rows.stream()
                .filter(r -> r.batch() == batch)
                .max(Comparator.comparingDouble(BenchRow::tokensPerSecond))
                .map(BenchRow::policy)
                .orElse("-");
    }

    /** The fastest row of a policy family at a batch size. */
    public static Optional<BenchRow> best(List<BenchRow> rows, int batch, String policy) {
        return rows.stream()
                .filter(r -> r.batch() == batch && r.policy().equals(policy))
                .max(Comparator.comparingDouble(BenchRow::tokensPerSecond));
    }

    private static String cell(BenchRow r) {
        return String.format(
                Locale.ROOT,
                "%s: %.0f, %.3f",
                r.label(),
                r.tokensPerSecond(),
                r.verificationSuccessRate());
    }

    private static String verdict(double candidate, double baseline) {
        double change = baseline == 0 ? 0 : 100 * (candidate / baseline - 1);
        return String.format(
                Locale.ROOT, "%s (%+.1f%%)", candidate > baseline ? "yes" : "**no**", change);
    }
}
