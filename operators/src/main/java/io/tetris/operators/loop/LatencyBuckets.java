package io.tetris.operators.loop;

import java.util.ArrayList;
import java.util.List;

/**
 * The fixed upper bounds, in milliseconds, of one latency's Prometheus histogram buckets, and which
 * of them a sample counts in. Fixed bounds are what make the buckets add up: every TaskManager
 * counts into the same buckets, so {@code sum by (le)} over them is the cluster's histogram, where
 * per-TaskManager quantiles cannot be combined at all.
 *
 * <p>The bounds are vLLM's ({@code vllm/v1/metrics/loggers.py}) in milliseconds, with finer ones
 * added below where a small model on one machine is faster than vLLM's smallest bucket: a p50 stuck
 * in the first bucket says nothing. Bounds are whole milliseconds because the samples are (Flink
 * histograms hold integers), and a bound's label needs no decimal point then.
 *
 * @param bounds strictly increasing upper bounds in ms; {@code +Inf} is implied after the last
 */
public record LatencyBuckets(List<Long> bounds) {

    /** The label value of the bucket that counts every sample. */
    public static final String INF = "+Inf";

    /** vLLM's TTFT buckets, 1 ms to 2560 s. */
    public static final LatencyBuckets TIME_TO_FIRST_TOKEN =
            of(
                    1, 5, 10, 20, 40, 60, 80, 100, 250, 500, 750, 1_000, 2_500, 5_000, 7_500,
                    10_000, 20_000, 40_000, 80_000, 160_000, 640_000, 2_560_000);

    /**
     * Queue time is a part of TTFT, zero when a slot is free, so it takes TTFT's buckets; vLLM's
     * (its e2e buckets, from 300 ms) would put every sample of a lightly loaded job in one.
     */
    public static final LatencyBuckets QUEUE_TIME = TIME_TO_FIRST_TOKEN;

    /**
     * vLLM's inter-token buckets, 10 ms to 80 s, with 1, 2 and 5 ms below: speculative decoding
     * hands out several tokens per round, and the round's time is spread over them.
     */
    public static final LatencyBuckets INTER_TOKEN_LATENCY =
            of(
                    1, 2, 5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1_000, 2_500, 5_000,
                    7_500, 10_000, 20_000, 40_000, 80_000);

    /**
     * vLLM's request latency buckets, 300 ms to 7680 s, with 10 to 200 ms below for short answers.
     */
    public static final LatencyBuckets E2E_LATENCY =
            of(
                    10, 25, 50, 100, 200, 300, 500, 800, 1_000, 1_500, 2_000, 2_500, 5_000, 10_000,
                    15_000, 20_000, 30_000, 40_000, 50_000, 60_000, 120_000, 240_000, 480_000,
                    960_000, 1_920_000, 7_680_000);

    public LatencyBuckets {
        bounds = List.copyOf(bounds);
        if (bounds.isEmpty()) {
            throw new IllegalArgumentException("no bucket bounds");
        }
        long previous = -1;
        for (long bound : bounds) {
            if (bound <= previous) {
                throw new IllegalArgumentException(
                        "bucket bounds must be non-negative and strictly increasing: " + bounds);
            }
            previous = bound;
        }
    }

    public static LatencyBuckets of(long... bounds) {
        List<Long> list = new ArrayList<>(bounds.length);
        for (long bound : bounds) {
            list.add(bound);
        }
        return new LatencyBuckets(list);
    }

    /** Buckets including {@code +Inf}. */
    public int size() {
        return bounds.size() + 1;
    }

    /** The {@code le} label values: the bounds, then {@code +Inf}. */
    public List<String> labels() {
        List<String> labels = new ArrayList<>(size());
        for (long bound : bounds) {
            labels.add(Long.toString(bound));
        }
        labels.add(INF);
        return labels;
    }

    /**
     * The first bucket that counts {@code valueMs}, the one with the smallest bound {@code >=} it
     * ({@link #size()} - 1, {@code +Inf}, above them all). The buckets are cumulative, so it and
     * every bucket after it count the sample.
     */
    public int first(long valueMs) {
        int i = 0;
        while (i < bounds.size() && bounds.get(i) < valueMs) {
            i++;
        }
        return i;
    }
}
