package io.tetris.operators.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyBucketsTest {

    private static final LatencyBuckets SMALL = LatencyBuckets.of(1, 5, 10);

    @Test
    void aSampleFallsIntoTheFirstBucketWhoseBoundIsAtLeastIt() {
        assertThat(SMALL.first(0)).isZero();
        assertThat(SMALL.first(1)).isZero(); // le is "less than or equal"
        assertThat(SMALL.first(2)).isEqualTo(1);
        assertThat(SMALL.first(5)).isEqualTo(1);
        assertThat(SMALL.first(10)).isEqualTo(2);
        assertThat(SMALL.first(11)).as("+Inf only").isEqualTo(3);
        assertThat(SMALL.first(Long.MAX_VALUE)).isEqualTo(SMALL.size() - 1);
    }

    @Test
    void theLabelsAreTheBoundsThenInf() {
        assertThat(SMALL.size()).isEqualTo(4);
        assertThat(SMALL.labels()).containsExactly("1", "5", "10", "+Inf");
    }

    @Test
    void boundsMustIncreaseStrictlyAndBeNonNegative() {
        assertThatThrownBy(() -> LatencyBuckets.of(1, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LatencyBuckets.of(5, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LatencyBuckets.of(-1, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(LatencyBuckets::of).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theServingBucketsStartAtAMillisecondOrTwoAndReachHours() {
        for (LatencyBuckets buckets :
                List.of(
                        LatencyBuckets.TIME_TO_FIRST_TOKEN,
                        LatencyBuckets.QUEUE_TIME,
                        LatencyBuckets.INTER_TOKEN_LATENCY,
                        LatencyBuckets.E2E_LATENCY)) {
            assertThat(buckets.bounds().get(0)).isLessThanOrEqualTo(10L);
            assertThat(buckets.bounds().get(buckets.bounds().size() - 1))
                    .isGreaterThanOrEqualTo(80_000L);
            // Each series is one per bucket and TaskManager: keep them few.
            assertThat(buckets.size()).isLessThanOrEqualTo(30);
        }
        // vLLM's bounds, in ms, are all there.
        assertThat(LatencyBuckets.TIME_TO_FIRST_TOKEN.bounds())
                .containsSubsequence(1L, 5L, 100L, 1_000L, 2_560_000L);
        assertThat(LatencyBuckets.INTER_TOKEN_LATENCY.bounds())
                .containsSubsequence(10L, 25L, 50L, 75L, 100L, 1_000L, 80_000L);
        assertThat(LatencyBuckets.E2E_LATENCY.bounds())
                .containsSubsequence(300L, 500L, 800L, 1_000L, 60_000L, 7_680_000L);
    }
}
