package io.tetris.measure;

import io.tetris.core.SpeculationStats;
import io.tetris.policy.CalibrationReport;
import io.tetris.policy.CostReport;
import io.tetris.policy.StepCostFit;
import java.util.List;
import java.util.Optional;

/**
 * One benchmark run (measured or simulated).
 *
 * @param seconds wall time (or predicted time) from the first round to the last
 * @param modelSeconds of {@code seconds}, the time inside draft and target model runs (all of it
 *     when simulated); the rest is host work
 * @param outputTokens tokens generated, end-of-text excluded
 * @param stats the run's speculation counters
 * @param calibration the policy's calibration, if it keeps acceptance estimates
 * @param outputs {@code [request][generated]} token ids per request in workload order, end-of-text
 *     included where a request ended on it; null for simulated runs
 * @param draftSamples per-step draft times of the run's rounds (empty when simulated)
 * @param verifySamples verification-pass times of the run's rounds (empty when simulated)
 * @param verifiedByRequest {@code [request]} draft tokens verified, in workload order
 * @param acceptedByRequest {@code [request]} of those, accepted
 * @param cost how well the policy's own cost model predicted its rounds, if it has one
 * @param shadowCost how well the bench's shared online cost model, trained on every round of every
 *     run before this one and on this run's earlier rounds, predicted this run's rounds (measured
 *     runs; empty when simulated)
 * @param phases where the rounds' time went ({@link Phases#NONE} when simulated)
 */
public record RunResult(
        double seconds,
        double modelSeconds,
        long outputTokens,
        SpeculationStats stats,
        Optional<CalibrationReport> calibration,
        int[][] outputs,
        List<StepCostFit.Sample> draftSamples,
        List<StepCostFit.Sample> verifySamples,
        long[] verifiedByRequest,
        long[] acceptedByRequest,
        Optional<CostReport> cost,
        Optional<CostReport> shadowCost,
        Phases phases) {

    /**
     * Seconds summed over a run's rounds by phase: prefill (prompts of sequences new to the models,
     * a one-time cost per request), drafting, and verification (the target pass and acceptance).
     * The rest of the wall time is host work.
     */
    public record Phases(double prefillSeconds, double draftSeconds, double verifySeconds) {
        public static final Phases NONE = new Phases(0, 0, 0);
    }

    /** Milliseconds per round in each phase; {@code host} is the wall time none of them took. */
    public record PhaseMillis(double prefill, double draft, double verify, double host) {}

    /**
     * Output tokens per second of decoding: wall time without prefill, which is what speculation
     * changes, and which long generations are dominated by.
     */
    public double decodeTokensPerSecond() {
        double decode = seconds - phases.prefillSeconds();
        return decode <= 0 ? 0 : outputTokens / decode;
    }

    public PhaseMillis phaseMillisPerRound() {
        long rounds = stats.rounds();
        if (rounds == 0) {
            return new PhaseMillis(0, 0, 0, 0);
        }
        double host =
                seconds - phases.prefillSeconds() - phases.draftSeconds() - phases.verifySeconds();
        return new PhaseMillis(
                1e3 * phases.prefillSeconds() / rounds,
                1e3 * phases.draftSeconds() / rounds,
                1e3 * phases.verifySeconds() / rounds,
                1e3 * host / rounds);
    }

    /** Milliseconds inside model runs per round (target pass). */
    public double modelMillisPerRound() {
        long rounds = stats.rounds();
        return rounds == 0 ? 0 : 1e3 * modelSeconds / rounds;
    }

    /** Milliseconds of host work (everything outside model runs) per round. */
    public double hostMillisPerRound() {
        long rounds = stats.rounds();
        return rounds == 0 ? 0 : 1e3 * (seconds - modelSeconds) / rounds;
    }

    public double tokensPerSecond() {
        return seconds <= 0 ? 0 : outputTokens / seconds;
    }
}
