package io.tetris.job.bench;

import io.tetris.core.SpeculationStats;
import io.tetris.measure.RunResult;
import java.util.List;

/** Folds the repeats of one configuration into a {@link BenchRow}. */
public final class RunSummary {

    private RunSummary() {}

    /**
     * Throughput is the median (and range) over the repeats; counters and times per round come from
     * the median repeat, so that a row's tokens per round over its time per round is its
     * throughput. Every repeat generates the same tokens, but a policy that carries what it learned
     * from one run to the next (tetris-adaptive) decides differently in each.
     */
    public static BenchRow row(BenchConfig config, int batch, List<RunResult> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no runs for " + config);
        }
        double[] rates = runs.stream().mapToDouble(RunResult::tokensPerSecond).sorted().toArray();
        RunResult medianRun =
                runs.stream()
                        .sorted(java.util.Comparator.comparingDouble(RunResult::tokensPerSecond))
                        .toList()
                        .get((runs.size() - 1) / 2);
        SpeculationStats s = medianRun.stats();
        long[] verified = s.verifiedPerPosition();
        long[] accepted = s.acceptedPerPosition();
        double[] byPosition = new double[verified.length];
        for (int j = 0; j < verified.length; j++) {
            byPosition[j] = verified[j] == 0 ? Double.NaN : (double) accepted[j] / verified[j];
        }
        return new BenchRow(
                config.policyName(),
                config.k(),
                config.extra(),
                batch,
                runs.size(),
                io.tetris.measure.Median.of(rates),
                rates[0],
                rates[rates.length - 1],
                medianRun.outputTokens(),
                s.rounds(),
                s.draftTokens(),
                s.verifiedDraftTokens(),
                s.acceptedTokens(),
                s.acceptanceRate(),
                s.meanAcceptanceLength(),
                s.budgetUtilisation(),
                medianRun.modelMillisPerRound(),
                medianRun.hostMillisPerRound(),
                io.tetris.measure.Median.of(
                        runs.stream()
                                .mapToDouble(RunResult::decodeTokensPerSecond)
                                .sorted()
                                .toArray()),
                medianRun.phaseMillisPerRound(),
                byPosition);
    }
}
