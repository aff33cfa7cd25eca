package io.tetris.job.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.tetris.schemas.TokenEvent;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The open-loop benchmark's arrivals, client-side timings and report logic. */
class ServeBenchTest {

    private static final long MS = 1_000_000;

    @Test
    void poissonArrivalsHaveTheRatesMeanGapAndRepeatWithTheSeed() {
        long[] a = PoissonArrivals.offsetsNanos(4.0, 20_001, 7);
        assertThat(a[0]).isZero();
        for (int i = 1; i < a.length; i++) {
            assertThat(a[i]).isGreaterThanOrEqualTo(a[i - 1]);
        }
        double meanGapSeconds = a[a.length - 1] / 1e9 / (a.length - 1);
        assertThat(meanGapSeconds).isCloseTo(0.25, within(0.25 * 0.03));
        // Exponential gaps: as many above the mean as e^-1 of them.
        int above = 0;
        for (int i = 1; i < a.length; i++) {
            above += a[i] - a[i - 1] > 0.25e9 ? 1 : 0;
        }
        assertThat(above / 20_000.0).isCloseTo(Math.exp(-1), within(0.02));
        assertThat(PoissonArrivals.offsetsNanos(4.0, 100, 7))
                .isEqualTo(PoissonArrivals.offsetsNanos(4.0, 100, 7));
        assertThatThrownBy(() -> PoissonArrivals.offsetsNanos(0, 3, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static TokenEvent event(String id, int seq, int tokens, boolean finished) {
        return TokenEvent.newBuilder()
                .setRequestId(id)
                .setSeq(seq)
                .setTokenIds(java.util.Collections.nCopies(tokens, 65))
                .setText("A".repeat(tokens))
                .setFinished(finished)
                .build();
    }

    @Test
    void timesEachRequestFromItsScheduledArrivalAndSpreadsGapsOverTokens() throws Exception {
        AtomicLong now = new AtomicLong();
        ClientTimings t = new ClientTimings(2, now::get);
        ClientTimings.Slo slo = new ClientTimings.Slo(150, 30);
        t.scheduled("fast", 0);
        t.scheduled("slow", 10 * MS);
        now.set(100 * MS);
        t.onToken(event("fast", 0, 1, false)); // TTFT 100 ms
        now.set(140 * MS);
        t.onToken(event("fast", 1, 2, true)); // two tokens 40 ms after: gaps of 20 ms each
        now.set(410 * MS);
        t.onToken(event("slow", 0, 3, false)); // TTFT 400 ms, two gaps in the same event: 0 ms
        now.set(510 * MS);
        t.onToken(event("slow", 1, 1, true)); // one gap of 100 ms

        assertThat(t.await(0, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        LoadPoint p = t.summarise("fixed k=3", 2.0, 1, slo, null);
        assertThat(p.completed()).isEqualTo(2);
        assertThat(p.outputTokens()).isEqualTo(7);
        assertThat(p.ttftMs()).containsExactly(100, 400);
        assertThat(p.itlMs()).containsExactly(0, 0, 20, 20, 100);
        assertThat(p.e2eMs()).containsExactly(140, 500);
        // Only "fast" is within 150 ms to its first token and 30 ms per token after it.
        assertThat(p.metSlo()).isEqualTo(1);
        assertThat(p.seconds()).isCloseTo(0.51, within(1e-9));
        assertThat(p.goodput()).isCloseTo(1 / 0.51, within(1e-9));
    }

    @Test
    void aRequestAnsweredWithAnErrorCountsOnceAndNeverMeetsTheObjective() throws Exception {
        AtomicLong now = new AtomicLong();
        ClientTimings t = new ClientTimings(1, now::get);
        t.scheduled("bad", 0);
        t.onError(
                io.tetris.schemas.GenerationError.newBuilder()
                        .setRequestId("bad")
                        .setCode(io.tetris.schemas.ErrorCode.QUEUE_FULL)
                        .setMessage("full")
                        .setAtMs(1)
                        .build());
        assertThat(t.await(0, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        LoadPoint p = t.summarise("none", 1.0, 1, new ClientTimings.Slo(1e9, 1e9), null);
        assertThat(p.errors()).isEqualTo(1);
        assertThat(p.completed()).isZero();
        assertThat(p.metSlo()).isZero();
    }

    @Test
    void policiesAreNamedAsTheBenchNamesThem() {
        assertThat(BenchConfig.parse("fixed:3").label()).isEqualTo("fixed k=3");
        assertThat(BenchConfig.parse("tetris:3:1").label()).isEqualTo("tetris k=3 e=1");
        assertThat(BenchConfig.parse("tetris-adaptive").extra())
                .isEqualTo(BenchConfig.ADAPTIVE_EXTRA);
        assertThat(BenchConfig.parse(" none ").label()).isEqualTo("none");
        for (String bad : List.of("fixed", "tetris:3", "dsd:2", "fixed:x", "greedy")) {
            assertThatThrownBy(() -> BenchConfig.parse(bad))
                    .hasMessageContaining("tetris:K:EXTRA")
                    .hasMessageContaining(bad);
        }
    }

    private static LoadPoint point(String policy, double rate, int sent, int met) {
        double[] latencies = {10, 20, 30};
        return new LoadPoint(
                policy, rate, 1, sent, sent, 0, met, 10, 100, latencies, latencies, latencies,
                latencies, null);
    }

    @Test
    void aPolicySustainsTheHighestRateUpToWhichItKeepsTheObjective() {
        ClientTimings.Slo slo = new ClientTimings.Slo(100, 10);
        ServeReport report =
                new ServeReport(
                        List.of(
                                point("none", 1, 10, 10),
                                point("none", 2, 10, 9),
                                point("none", 4, 10, 5),
                                point("none", 8, 10, 10), // recovered by chance: not counted
                                point("tetris", 1, 10, 8)),
                        slo,
                        0.9);
        TreeMap<Double, List<LoadPoint>> none = report.byPolicy().get("none");
        assertThat(report.sustainedRate(none)).isEqualTo(2.0);
        assertThat(report.sustainedRate(report.byPolicy().get("tetris"))).isZero();
        String md = report.markdown("t", "h");
        assertThat(md).contains("| none | 2 |").contains("| tetris | 0 |");
        assertThat(report.csv().lines()).hasSize(6);
    }
}
