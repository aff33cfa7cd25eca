package io.tetris.job.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tetris.core.SpeculationStats;
import io.tetris.measure.RunResult;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BenchStatisticsTest {

    private static RunResult run(double seconds, long[] verified, long[] accepted) {
        return run(seconds, 0, verified, accepted);
    }

    private static RunResult run(
            double seconds, double prefillSeconds, long[] verified, long[] accepted) {
        return new RunResult(
                seconds,
                seconds,
                1000,
                new SpeculationStats(),
                Optional.empty(),
                null,
                List.of(),
                List.of(),
                verified,
                accepted,
                Optional.empty(),
                Optional.empty(),
                new RunResult.Phases(prefillSeconds, 0, 0));
    }

    private static RunResult withPrefill(double seconds, double prefillSeconds) {
        return run(seconds, prefillSeconds, new long[0], new long[0]);
    }

    /** A run of 1000 tokens in {@code rounds} rounds of one sequence accepting 2 of 3 drafts. */
    private static RunResult decided(double seconds, int rounds) {
        SpeculationStats stats = new SpeculationStats();
        for (int r = 0; r < rounds; r++) {
            stats.observeRound(3);
            stats.observeSequence(3, 3, 2);
        }
        return new RunResult(
                seconds,
                seconds / 2,
                1000,
                stats,
                Optional.empty(),
                null,
                List.of(),
                List.of(),
                new long[0],
                new long[0],
                Optional.empty(),
                Optional.empty(),
                new RunResult.Phases(0, 0, 0));
    }

    @Test
    void aRowsCountersAndTimesPerRoundComeFromItsMedianRepeat() {
        // A learning policy decides differently in each repeat: the first run took 500 rounds,
        // the median one (2 s) 250.
        BenchRow row =
                RunSummary.row(
                        BenchConfig.parse("tetris-adaptive"),
                        4,
                        List.of(decided(4, 500), decided(2, 250), decided(1, 200)));
        assertThat(row.tokensPerSecond()).isCloseTo(500.0, within(1e-9));
        assertThat(row.targetPasses()).isEqualTo(250);
        assertThat(row.verifiedDraftTokens()).isEqualTo(750);
        // Tokens per round over the time per round is the row's throughput.
        double perRound = (row.modelMillisPerRound() + row.hostMillisPerRound()) / 1e3;
        assertThat(row.tokensPerTargetPass() / perRound).isCloseTo(500.0, within(1e-6));
    }

    @Test
    void theDecodeRatioLeavesPrefillOut() {
        // Same 1 s of prefill in both; decoding takes 1 s against 3 s: 3x decode-only, 2x wall.
        List<RunResult> fast = List.of(withPrefill(2, 1), withPrefill(2, 1));
        List<RunResult> slow = List.of(withPrefill(4, 1), withPrefill(4, 1));
        assertThat(BenchStatistics.decodeRatio(fast, slow).estimate()).isCloseTo(3.0, within(1e-9));
        assertThat(BenchStatistics.throughputRatio(fast, slow).estimate())
                .isCloseTo(2.0, within(1e-9));
        assertThat(fast.get(0).decodeTokensPerSecond()).isCloseTo(1000.0, within(1e-9));
    }

    private static RunResult timed(double seconds) {
        return run(seconds, new long[0], new long[0]);
    }

    @Test
    void aThroughputRatioPairsRepeatsAndWidensWithTheirSpread() {
        // a is 10 % faster in every repeat, whatever the machine's phase: a tight interval.
        var steady =
                BenchStatistics.throughputRatio(
                        List.of(timed(1.0), timed(2.0), timed(1.5)),
                        List.of(timed(1.1), timed(2.2), timed(1.65)));
        assertThat(steady.estimate()).isCloseTo(1.1, within(1e-9));
        assertThat(steady.high() - steady.low()).isLessThan(1e-9);
        assertThat(steady.above(1.05)).isTrue();
        // Faster, slower, faster: the interval spans 1.
        var noisy =
                BenchStatistics.throughputRatio(
                        List.of(timed(1.0), timed(1.0), timed(1.0)),
                        List.of(timed(1.2), timed(0.8), timed(1.2)));
        assertThat(noisy.low()).isLessThan(1.0);
        assertThat(noisy.high()).isGreaterThan(1.0);
        assertThat(BenchStatistics.throughputRatio(List.of(timed(1)), List.of(timed(2))).low())
                .isNaN();
    }

    @Test
    void aSuccessRateGainIsBootstrappedOverRequests() {
        int n = 200;
        long[] verified = new long[n];
        long[] fixed = new long[n];
        long[] tetris = new long[n];
        for (int i = 0; i < n; i++) {
            verified[i] = 10;
            fixed[i] = i % 2 == 0 ? 9 : 5; // 0.70
            tetris[i] = i % 2 == 0 ? 10 : 6; // 0.80
        }
        var gain =
                BenchStatistics.successRateGain(
                        run(1, verified, tetris), run(1, verified, fixed), 500, 1);
        assertThat(gain.estimate()).isCloseTo(0.8 / 0.7 - 1, within(1e-9));
        assertThat(gain.low()).isPositive();
        assertThat(gain.high()).isGreaterThan(gain.estimate());
        var none =
                BenchStatistics.successRateGain(
                        run(1, verified, fixed), run(1, verified, fixed), 500, 1);
        assertThat(none.estimate()).isZero();
        assertThat(none.low()).isZero();
        assertThat(none.high()).isZero();
    }
}
