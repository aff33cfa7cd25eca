package io.tetris.job.bench;

import io.tetris.job.kafka.ResponseListener;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Latencies of an open-loop run as a client sees them: each request's clock starts at its scheduled
 * arrival (not when the send returned, so a slow send cannot hide queueing), the first token event
 * gives its time to first token, the gaps between token events (spread over the tokens each
 * carries) its inter-token latencies, and the finishing event its end-to-end latency. Token events
 * are read uncommitted, as a streaming client reads them; results (committed with each checkpoint)
 * only add the job's queue time.
 */
public final class ClientTimings implements ResponseListener {

    /** One request's clock, in {@link System#nanoTime} units. */
    private static final class Timing {
        final long scheduled;
        long first = -1;
        long last = -1;
        long finished = -1;
        int tokens;
        long queueMs = -1;
        boolean error;
        final List<Double> gapsMs = new ArrayList<>();

        Timing(long scheduled) {
            this.scheduled = scheduled;
        }
    }

    private final Map<String, Timing> timings = new ConcurrentHashMap<>();
    private final CountDownLatch done;
    private final LongSupplier clock;

    /**
     * @param requests how many requests the run sends
     */
    public ClientTimings(int requests) {
        this(requests, System::nanoTime);
    }

    /** With the clock given (tests). */
    ClientTimings(int requests, LongSupplier clock) {
        this.done = new CountDownLatch(requests);
        this.clock = clock;
    }

    /** Request {@code id} is due now ({@code scheduledNanos}); call before sending it. */
    public void scheduled(String id, long scheduledNanos) {
        timings.put(id, new Timing(scheduledNanos));
    }

    @Override
    public void onToken(TokenEvent event) {
        long now = clock.getAsLong();
        Timing t = timings.get(event.getRequestId());
        if (t != null && arrived(t, event.getTokenIds().size(), now, event.getFinished())) {
            done.countDown();
        }
    }

    /**
     * Request {@code id} was answered by a stream whose chunks carry text, not token ids (the
     * gateway's server-sent events): its {@code tokens} (the answer's usage) are shared out evenly
     * over the chunks that carried text, arrived at {@code chunkNanos}, and the stream finished at
     * {@code finishedNanos}. TTFT, end-to-end latency, the token count and each request's mean
     * inter-token latency are exact; the spread of gaps within a request is exact only where each
     * chunk carried one token.
     */
    public void streamed(String id, long[] chunkNanos, long finishedNanos, int tokens) {
        Timing t = timings.get(id);
        if (t == null) {
            return;
        }
        int chunks = chunkNanos.length;
        boolean finishedNow = false;
        for (int i = 0; i < chunks; i++) {
            // Even shares that add up to tokens: floor(tokens * (i + 1) / chunks) - floor(...i...).
            int share = (int) ((long) tokens * (i + 1) / chunks - (long) tokens * i / chunks);
            finishedNow |= arrived(t, share, chunkNanos[i], false);
        }
        finishedNow |= arrived(t, chunks == 0 ? tokens : 0, finishedNanos, true);
        if (finishedNow) {
            done.countDown();
        }
    }

    /**
     * Records {@code added} tokens that arrived at {@code now}, and the finish if {@code finished}.
     *
     * @return whether this finished the request (first finish, no error before)
     */
    private static boolean arrived(Timing t, int added, long now, boolean finished) {
        synchronized (t) {
            if (t.first < 0) {
                if (added == 0 && !finished) {
                    return false; // no token yet, so no first token either
                }
                t.first = now;
                // The first token's wait is the time to first token; those that came with it
                // came at no extra wait.
                for (int i = 1; i < added; i++) {
                    t.gapsMs.add(0.0);
                }
            } else if (added > 0) {
                double each = (now - t.last) / 1e6 / added;
                for (int i = 0; i < added; i++) {
                    t.gapsMs.add(each);
                }
            }
            t.tokens += added;
            t.last = now;
            boolean finishedNow = finished && t.finished < 0 && !t.error;
            if (finishedNow) {
                t.finished = now;
            }
            return finishedNow;
        }
    }

    @Override
    public void onResult(GenerationResult result) {
        Timing t = timings.get(result.getRequestId());
        if (t != null) {
            synchronized (t) {
                t.queueMs = result.getTimings().getQueueMs();
            }
        }
    }

    @Override
    public void onError(GenerationError error) {
        failed(error.getRequestId());
    }

    /** Request {@code id} failed (an error answer, or no answer): counted once, as an error. */
    public void failed(String id) {
        Timing t = id == null ? null : timings.get(id);
        if (t == null) {
            return;
        }
        boolean first;
        synchronized (t) {
            first = !t.error && t.finished < 0;
            t.error = true;
        }
        if (first) {
            done.countDown();
        }
    }

    /** Waits until every request finished or failed; false on timeout. */
    public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return done.await(timeout, unit);
    }

    /** What the run measured, judged against the objective {@code slo}. */
    public LoadPoint summarise(String policy, double rate, int repeat, Slo slo, JobHistograms job) {
        List<Double> ttft = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        List<Double> queue = new ArrayList<>();
        int completed = 0;
        int errors = 0;
        int met = 0;
        long tokens = 0;
        long start = Long.MAX_VALUE;
        long end = Long.MIN_VALUE;
        for (Timing t : timings.values()) {
            synchronized (t) {
                start = Math.min(start, t.scheduled);
                if (t.error) {
                    errors++;
                    continue;
                }
                if (t.finished < 0) {
                    continue;
                }
                completed++;
                end = Math.max(end, t.finished);
                tokens += t.tokens;
                double firstMs = (t.first - t.scheduled) / 1e6;
                ttft.add(firstMs);
                itl.addAll(t.gapsMs);
                e2e.add((t.finished - t.scheduled) / 1e6);
                if (t.queueMs >= 0) {
                    queue.add((double) t.queueMs);
                }
                double meanGap =
                        t.gapsMs.isEmpty()
                                ? 0
                                : t.gapsMs.stream().mapToDouble(Double::doubleValue).sum()
                                        / t.gapsMs.size();
                if (slo.met(firstMs, meanGap)) {
                    met++;
                }
            }
        }
        double seconds = end > start ? (end - start) / 1e9 : Double.NaN;
        return new LoadPoint(
                policy,
                rate,
                repeat,
                timings.size(),
                completed,
                errors,
                met,
                seconds,
                tokens,
                toArray(ttft),
                toArray(itl),
                toArray(e2e),
                toArray(queue),
                job);
    }

    private static double[] toArray(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    /**
     * A latency objective: time to first token and mean inter-token latency (time per output token)
     * at most these, in milliseconds.
     */
    public record Slo(double ttftMs, double itlMs) {
        public boolean met(double ttft, double meanItl) {
            return ttft <= ttftMs && meanItl <= itlMs;
        }
    }
}
