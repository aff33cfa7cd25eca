package io.tetris.operators.loop;

import io.tetris.engine.Round;
import io.tetris.engine.SequenceState;
import io.tetris.policy.CalibrationReport;
import io.tetris.policy.CostReport;
import io.tetris.policy.StepCostModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * The metrics a serving team reads first, registered once by the decode loop, which sees every
 * request's timeline and every completed round.
 *
 * <p>Names follow vLLM's ({@code vllm:time_to_first_token_seconds} becomes {@code
 * time_to_first_token_ms}: Flink metric names carry no {@code vllm:} prefix, and Flink histograms
 * hold integers, so latencies are in milliseconds). The speculation counters have vLLM's meanings:
 * drafts are sequence-rounds that verified at least one draft token, draft tokens are the tokens
 * proposed, accepted tokens those the target accepted, per position under a {@code position} label.
 * What vLLM does not report is added: the verification budget offered and used, the round time the
 * cost model predicted against the measured one, and the policy's calibration error.
 *
 * <p>Each latency is also a Prometheus histogram with fixed buckets ({@link LatencyBuckets}), whose
 * bucket series add up across TaskManagers where the summaries' quantiles cannot: see {@link
 * LatencyMetric} for how counters become {@code le_<name>_bucket{le="..."}}.
 */
public final class ServingMetrics {

    public static final String QUEUE_TIME = "request_queue_time_ms";
    public static final String TIME_TO_FIRST_TOKEN = "time_to_first_token_ms";
    public static final String INTER_TOKEN_LATENCY = "inter_token_latency_ms";
    public static final String E2E_LATENCY = "e2e_request_latency_ms";
    public static final String RUNNING = "num_requests_running";
    public static final String WAITING = "num_requests_waiting";
    public static final String PROMPT_TOKENS = "prompt_tokens";
    public static final String GENERATION_TOKENS = "generation_tokens";
    public static final String DRAFTS = "spec_decode_num_drafts";
    public static final String DRAFT_TOKENS = "spec_decode_num_draft_tokens";
    public static final String ACCEPTED_TOKENS = "spec_decode_num_accepted_tokens";

    /** Per draft position, under a {@code position} label (Prometheus: {@code position_...}). */
    public static final String ACCEPTED_PER_POSITION = "spec_decode_num_accepted_tokens_per_pos";

    public static final String BUDGET_OFFERED = "spec_decode_budget_offered_tokens";
    public static final String BUDGET_USED = "spec_decode_budget_used_tokens";
    public static final String ROUND_PREDICTED = "round_time_predicted_us";
    public static final String ROUND_MEASURED = "round_time_measured_us";
    public static final String CALIBRATION_ERROR = "acceptance_calibration_error";
    public static final String PREDICTOR_AUC = "acceptance_predictor_auc";
    public static final String ROUND_TIME_ERROR = "round_time_median_relative_error";

    /** The latencies, each a summary and a bucketed histogram. */
    public static final List<String> LATENCIES =
            List.of(QUEUE_TIME, TIME_TO_FIRST_TOKEN, INTER_TOKEN_LATENCY, E2E_LATENCY);

    /** The label of a histogram bucket's upper bound, Prometheus' own. */
    public static final String BUCKET_LABEL = "le";

    /**
     * The names a dashboard shows, for dashboards and their tests: every name above, the latencies
     * by their bucket series, which alone add up across TaskManagers.
     */
    public static final List<String> NAMES =
            List.of(
                    bucketSeries(QUEUE_TIME),
                    bucketSeries(TIME_TO_FIRST_TOKEN),
                    bucketSeries(INTER_TOKEN_LATENCY),
                    bucketSeries(E2E_LATENCY),
                    RUNNING,
                    WAITING,
                    PROMPT_TOKENS,
                    GENERATION_TOKENS,
                    DRAFTS,
                    DRAFT_TOKENS,
                    ACCEPTED_TOKENS,
                    "position_" + ACCEPTED_PER_POSITION,
                    BUDGET_OFFERED,
                    BUDGET_USED,
                    ROUND_PREDICTED,
                    ROUND_MEASURED,
                    CALIBRATION_ERROR,
                    PREDICTOR_AUC,
                    ROUND_TIME_ERROR);

    /** Latency samples each summary keeps for its quantiles. */
    private static final int WINDOW = 10_000;

    private final MetricGroup group;
    private final LatencyMetric queueTime;
    private final LatencyMetric timeToFirstToken;
    private final LatencyMetric interTokenLatency;
    private final LatencyMetric e2eLatency;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Counter drafts;
    private final Counter draftTokens;
    private final Counter acceptedTokens;
    private final Counter budgetOffered;
    private final Counter budgetUsed;
    private final List<Counter> acceptedPerPosition = new ArrayList<>();
    private final Map<Integer, int[]> load = new ConcurrentHashMap<>(); // replica -> {run, wait}
    private final StepCostModel costModel;
    private volatile long predictedMicros;
    private volatile long measuredMicros;

    ServingMetrics(
            MetricGroup group,
            StepCostModel costModel,
            Supplier<Optional<CalibrationReport>> calibration,
            Supplier<Optional<CostReport>> cost) {
        this.group = group;
        this.costModel = costModel;
        queueTime = new LatencyMetric(group, QUEUE_TIME, LatencyBuckets.QUEUE_TIME, WINDOW);
        timeToFirstToken =
                new LatencyMetric(
                        group, TIME_TO_FIRST_TOKEN, LatencyBuckets.TIME_TO_FIRST_TOKEN, WINDOW);
        interTokenLatency =
                new LatencyMetric(
                        group, INTER_TOKEN_LATENCY, LatencyBuckets.INTER_TOKEN_LATENCY, WINDOW);
        e2eLatency = new LatencyMetric(group, E2E_LATENCY, LatencyBuckets.E2E_LATENCY, WINDOW);
        group.gauge(RUNNING, () -> total(0));
        group.gauge(WAITING, () -> total(1));
        promptTokens = group.counter(PROMPT_TOKENS);
        generationTokens = group.counter(GENERATION_TOKENS);
        drafts = group.counter(DRAFTS);
        draftTokens = group.counter(DRAFT_TOKENS);
        acceptedTokens = group.counter(ACCEPTED_TOKENS);
        budgetOffered = group.counter(BUDGET_OFFERED);
        budgetUsed = group.counter(BUDGET_USED);
        position(0); // further positions appear as drafts reach them
        group.gauge(ROUND_PREDICTED, () -> predictedMicros);
        group.gauge(ROUND_MEASURED, () -> measuredMicros);
        group.gauge(
                CALIBRATION_ERROR,
                () -> calibration.get().map(CalibrationReport::calibratedError).orElse(0.0));
        group.gauge(
                PREDICTOR_AUC, () -> calibration.get().map(r -> r.predicted().auc()).orElse(0.0));
        group.gauge(
                ROUND_TIME_ERROR,
                () -> cost.get().map(CostReport::medianRelativeError).orElse(0.0));
    }

    /**
     * The Prometheus name of {@code latency}'s bucket series, {@code le_<latency>_bucket}: Flink
     * puts the {@code le} label's key into the name. Its {@code _sum} and {@code _count} are {@link
     * #bucketSum} and {@link #bucketCount}.
     */
    public static String bucketSeries(String latency) {
        return BUCKET_LABEL + "_" + latency + "_bucket";
    }

    /** {@code le_<latency>_sum}: the sum of {@code latency}'s samples in ms. */
    public static String bucketSum(String latency) {
        return BUCKET_LABEL + "_" + latency + "_sum";
    }

    /** {@code le_<latency>_count}: its samples, the same as its {@code +Inf} bucket. */
    public static String bucketCount(String latency) {
        return BUCKET_LABEL + "_" + latency + "_count";
    }

    /** A request moved from waiting to running. */
    void admitted(SequenceState s) {
        queueTime.update(Math.max(0, s.admittedAtMs - s.receivedAtMs));
        promptTokens.inc(s.promptTokens.length);
    }

    /**
     * A round gave {@code s} {@code added} new tokens at {@code nowMs}; {@code previousMs} is when
     * it last got any (0: never, so the first of them is its first token).
     */
    void tokens(SequenceState s, int added, long previousMs, long nowMs) {
        if (added <= 0) {
            return;
        }
        generationTokens.inc(added);
        int gaps = added;
        if (previousMs == 0) {
            timeToFirstToken.update(Math.max(0, nowMs - s.receivedAtMs));
            gaps--;
            previousMs = nowMs;
        }
        // The tokens of one round arrive together: spread the wait since the last ones over them.
        long each = Math.max(0, nowMs - previousMs) / Math.max(1, added);
        for (int i = 0; i < gaps; i++) {
            interTokenLatency.update(each);
        }
    }

    /** {@code s} finished at {@code nowMs}. */
    void finished(SequenceState s, long nowMs) {
        e2eLatency.update(Math.max(0, nowMs - s.receivedAtMs));
    }

    /** Requests of {@code replica} running and waiting now. */
    void load(int replica, int runningNow, int waitingNow) {
        load.put(replica, new int[] {runningNow, waitingNow});
    }

    /** A round completed; its measured time is that of its draft, allocate and verify steps. */
    void round(Round round) {
        int[] verify = round.allocation.verify();
        int[] accepted = round.outcome.accepted();
        for (int i = 0; i < round.size(); i++) {
            draftTokens.inc(round.drafts.tokens()[i].length);
            if (verify[i] > 0) {
                drafts.inc();
            }
            acceptedTokens.inc(accepted[i]);
            for (int j = 0; j < accepted[i]; j++) {
                position(j).inc();
            }
            budgetUsed.inc(verify[i]);
        }
        budgetOffered.inc(round.allocation.budget());
        measuredMicros = (round.draftNanos + round.allocateNanos + round.verifyNanos) / 1000;
        // The policy's own prediction, made when it planned the round, where it makes one.
        double predicted = round.allocation.predictedSeconds();
        predictedMicros =
                Math.round(
                        (Double.isFinite(predicted) ? predicted : round.predictedSeconds(costModel))
                                * 1e6);
    }

    private Counter position(int j) {
        while (acceptedPerPosition.size() <= j) {
            acceptedPerPosition.add(
                    group.addGroup("position", Integer.toString(acceptedPerPosition.size()))
                            .counter(ACCEPTED_PER_POSITION));
        }
        return acceptedPerPosition.get(j);
    }

    private int total(int which) {
        int sum = 0;
        for (int[] counts : load.values()) {
            sum += counts[which];
        }
        return sum;
    }
}
