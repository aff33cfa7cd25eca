package io.tetris.job.bench;

import io.tetris.measure.RunResult;
import java.util.Locale;

/**
 * One configuration of the benchmark matrix, summarised over its repeats.
 *
 * @param policy {@code none}, {@code fixed}, {@code dsd}, {@code tetris} or {@code tetris-adaptive}
 * @param k the window ({@code fixed}, {@code tetris}); 0 where the policy picks it
 * @param extra extra draft tokens ({@code tetris}, {@code tetris-adaptive}); 0 otherwise
 * @param batch running-batch size (continuous batching keeps this many sequences in flight)
 * @param repeats measured runs behind the throughput figures
 * @param tokensPerSecond median output tokens per second over the repeats
 * @param tokensPerSecondMin slowest repeat
 * @param tokensPerSecondMax fastest repeat
 * @param outputTokens tokens generated in one run
 * @param targetPasses target forward passes (rounds) in one run
 * @param draftTokens tokens the draft model proposed in one run
 * @param verifiedDraftTokens draft tokens sent to the target in one run
 * @param acceptedTokens verified draft tokens the target accepted in one run
 * @param verificationSuccessRate accepted / verified draft tokens
 * @param meanAcceptanceLength 1 + accepted / (sequence-rounds that verified at least one draft)
 * @param budgetUtilisation verified draft tokens / verification budget offered
 * @param modelMillisPerRound time inside draft and target model runs per round (median repeat)
 * @param hostMillisPerRound everything else per round: sampling, policy, batching, copies
 * @param decodeTokensPerSecond median output tokens per second over wall time without prefill
 * @param phaseMillis per round, the median repeat's prefill, drafting, verification and other
 *     (host) time
 * @param acceptanceByPosition {@code [position]} accepted / verified draft tokens at each draft
 *     position (0 = first draft token); NaN where nothing was verified at that position
 */
public record BenchRow(
        String policy,
        int k,
        int extra,
        int batch,
        int repeats,
        double tokensPerSecond,
        double tokensPerSecondMin,
        double tokensPerSecondMax,
        long outputTokens,
        long targetPasses,
        long draftTokens,
        long verifiedDraftTokens,
        long acceptedTokens,
        double verificationSuccessRate,
        double meanAcceptanceLength,
        double budgetUtilisation,
        double modelMillisPerRound,
        double hostMillisPerRound,
        double decodeTokensPerSecond,
        RunResult.PhaseMillis phaseMillis,
        double[] acceptanceByPosition) {

    /** Output tokens per target forward pass. */
    public double tokensPerTargetPass() {
        return targetPasses == 0 ? 0 : (double) outputTokens / targetPasses;
    }

    /** A short name for tables and legends, such as {@code fixed k=3} or {@code tetris k=3 e=2}. */
    public String label() {
        return label(policy, k, extra);
    }

    /** The label of a configuration, by the same rule as {@link #label()}. */
    public static String label(String policy, int k, int extra) {
        return switch (policy) {
            case "fixed" -> String.format(Locale.ROOT, "fixed k=%d", k);
            case "tetris" -> String.format(Locale.ROOT, "tetris k=%d e=%d", k, extra);
            default -> policy;
        };
    }
}
