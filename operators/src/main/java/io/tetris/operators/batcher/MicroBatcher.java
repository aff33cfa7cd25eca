package io.tetris.operators.batcher;

import io.tetris.config.TetrisConfig;
import io.tetris.engine.ContinuousBatching;
import io.tetris.engine.Progress;
import io.tetris.engine.Round;
import io.tetris.engine.SequenceState;
import io.tetris.engine.SequenceTracker;
import io.tetris.engine.SequenceView;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.operators.TaskModels;
import io.tetris.operators.dedupe.AnsweredIds;
import io.tetris.operators.replica.Replica;
import io.tetris.operators.replica.ReplicaRegistry;
import io.tetris.operators.round.LoopRound;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Head of the decode loop, keyed by verifier replica: continuous batching over a bounded running
 * batch and a bounded waiting queue. Its keyed state is the only source of truth about every
 * sequence of its replica.
 *
 * <p>A round runs inside one processing-time timer callback (one mailbox action): it emits the
 * {@link Round}, the chained draft, window and verify operators run synchronously, and the verified
 * round is back in the replica's feedback slot when the emit returns. Requests and checkpoint
 * barriers therefore slot in between rounds, and a checkpoint always sees a round boundary.
 */
public final class MicroBatcher
        extends KeyedProcessFunction<Integer, GenerationRequest, LoopRound> {

    private static final long serialVersionUID = 1L;

    static final String NOT_CHAINED =
            "the decode loop (micro-batcher, draft, window, verify) must run chained in one task;"
                    + " keep their parallelism equal, their edges forward, and do not disable"
                    + " operator chaining";

    // ----- configuration -----
    private final TetrisConfig config;

    // ----- runtime -----
    private transient MapState<String, SequenceState> running;
    private transient ListState<SequenceState> waiting;
    private transient ValueState<Long> admitted;
    private transient ValueState<Long> rounds;
    private transient Replica replica;
    private transient HuggingFaceTextTokenizer tokenizer;
    private transient SequenceTracker tracker;
    private transient List<String> released;
    private transient Counter roundCounter;
    private transient Counter completed;
    private transient volatile int lastBatchSize;
    private transient volatile long lastRoundMicros;
    private transient ServingMetrics serving;
    private transient AnsweredIds answered;
    private transient Counter answeredDropped;

    public MicroBatcher(TetrisConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public void open(OpenContext openContext) {
        TypeInformation<SequenceState> stateType = TypeInformation.of(SequenceState.class);
        running =
                getRuntimeContext()
                        .getMapState(new MapStateDescriptor<>("running", Types.STRING, stateType));
        waiting = getRuntimeContext().getListState(new ListStateDescriptor<>("waiting", stateType));
        admitted = getRuntimeContext().getState(new ValueStateDescriptor<>("admitted", Types.LONG));
        rounds = getRuntimeContext().getState(new ValueStateDescriptor<>("rounds", Types.LONG));
        replica = ReplicaRegistry.acquire(getRuntimeContext(), config);
        tokenizer = TaskModels.tokenizer(getRuntimeContext(), config.models());
        tracker =
                new SequenceTracker(
                        tokenizer,
                        config.models().onnx().maxContext(),
                        config.batch().tokenChunk());
        released = new ArrayList<>();
        var metrics = getRuntimeContext().getMetricGroup();
        roundCounter = metrics.counter("rounds");
        completed = metrics.counter("completedRequests");
        answered = AnsweredIds.load(config.answeredIds());
        answeredDropped = metrics.counter("answeredResultsDropped");
        metrics.gauge("batchSize", () -> lastBatchSize);
        metrics.gauge("roundMicros", () -> lastRoundMicros);
        serving =
                new ServingMetrics(
                        metrics,
                        config.costModel(),
                        replica.policy()::calibration,
                        replica.policy()::costReport);
    }

    /** Where a round's outputs go: a function context, or the operator at end of input. */
    interface Loop {
        int key();

        long now();

        void emit(LoopRound round);

        void token(TokenEvent event);

        void result(GenerationResult result);

        void error(GenerationError error);

        static Loop of(Context ctx, Collector<LoopRound> out) {
            return new Loop() {
                @Override
                public int key() {
                    return ctx.getCurrentKey();
                }

                @Override
                public long now() {
                    return ctx.timerService().currentProcessingTime();
                }

                @Override
                public void emit(LoopRound round) {
                    out.collect(round);
                }

                @Override
                public void token(TokenEvent event) {
                    ctx.output(LoopOutputs.TOKENS, event);
                }

                @Override
                public void result(GenerationResult result) {
                    ctx.output(LoopOutputs.RESULTS, result);
                }

                @Override
                public void error(GenerationError error) {
                    ctx.output(LoopOutputs.ERRORS, error);
                }
            };
        }
    }

    @Override
    public void processElement(GenerationRequest request, Context ctx, Collector<LoopRound> out)
            throws Exception {
        Loop loop = Loop.of(ctx, out);
        long now = loop.now();
        String id = request.getRequestId();
        if (running.contains(id) || waitingIds().contains(id)) {
            reject(
                    loop,
                    request,
                    ErrorCode.DUPLICATE_REQUEST_ID,
                    "request_id is already in flight");
            return;
        }
        if (queueFull()) {
            if (config.batch().queueFull() == TetrisConfig.QueueFull.REJECT) {
                reject(
                        loop,
                        request,
                        ErrorCode.QUEUE_FULL,
                        "waiting queue of "
                                + config.batch().maxWaiting()
                                + " is full; retry later with a new request_id (an accepted id"
                                + " is remembered for tetris.requests.id-retention)");
                return;
            }
            // Work off the queue before taking more input: the source stalls, Kafka buffers.
            while (queueFull()) {
                ContinuousBatching.step(store(loop), rounds(loop));
                admit(loop);
            }
        }
        long order = value(admitted) + 1;
        admitted.update(order);
        waiting.add(Records.newSequence(request, order, now));
        admit(loop);
        scheduleRound(ctx);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<LoopRound> out)
            throws Exception {
        Loop loop = Loop.of(ctx, out);
        if (admit(loop) == 0) {
            return;
        }
        ContinuousBatching.step(store(loop), rounds(loop));
        if (admit(loop) > 0) {
            scheduleRound(ctx);
        }
    }

    /**
     * Queues the next round as a mailbox action. Flink delays a timer registered for "now" by one
     * millisecond, one past "now"; a timestamp already passed fires at once. Timers at the same
     * timestamp collapse into one, so a burst of requests schedules one round.
     */
    private static void scheduleRound(Context ctx) {
        ctx.timerService()
                .registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() - 1);
    }

    /**
     * Runs rounds until this replica has no sequence left: processing-time timers do not fire after
     * the end of a bounded input, so bulk jobs finish their work here.
     */
    void drain(Loop loop) throws Exception {
        ContinuousBatching.drain(store(loop), config.batch().maxRunning(), rounds(loop));
        admit(loop);
    }

    /**
     * The replica's sequences for {@link ContinuousBatching}: running and waiting ones in keyed
     * state, a round's outcome turned into token events, results and metrics.
     */
    private ContinuousBatching.Store<SequenceState> store(Loop loop) {
        int maxContext = config.models().onnx().maxContext();
        return new ContinuousBatching.Store<>() {
            @Override
            public List<SequenceState> running() throws Exception {
                List<SequenceState> batch = new ArrayList<>();
                MicroBatcher.this.running.values().forEach(batch::add);
                batch.sort(Comparator.comparingLong(s -> s.order));
                return batch;
            }

            @Override
            public int runningCount() throws Exception {
                // Keys only: admission after every round need not read every sequence's state.
                return MicroBatcher.this.runningCount();
            }

            @Override
            public List<SequenceState> waiting() throws Exception {
                List<SequenceState> queue = new ArrayList<>();
                MicroBatcher.this.waiting.get().forEach(queue::add);
                return queue;
            }

            @Override
            public void start(List<SequenceState> admitted, List<SequenceState> rest)
                    throws Exception {
                for (SequenceState s : admitted) {
                    s.admittedAtMs = loop.now();
                    serving.admitted(s);
                    MicroBatcher.this.running.put(s.requestId, s);
                }
                MicroBatcher.this.waiting.update(rest);
            }

            @Override
            public SequenceView view(SequenceState s) {
                return Round.view(s, maxContext);
            }

            @Override
            public boolean apply(SequenceState s, int i, Round done) throws Exception {
                return applyRound(loop, s, i, done);
            }
        };
    }

    /**
     * Runs a round by emitting it: the chained draft, window and verify operators fill it in before
     * the emit returns.
     */
    private ContinuousBatching.Rounds rounds(Loop loop) {
        return views -> {
            long start = System.nanoTime();
            LoopRound round = newRound(loop.key(), views);
            round.round.plan(replica.policy());
            loop.emit(round);
            if (replica.takeCompleted() != round) {
                throw new IllegalStateException(NOT_CHAINED);
            }
            serving.round(round.round);
            roundCounter.inc();
            lastBatchSize = views.size();
            lastRoundMicros = (System.nanoTime() - start) / 1000;
            return round.round;
        };
    }

    /** What sequence {@code s}, the {@code i}-th of {@code done}, emitted: events, result. */
    private boolean applyRound(Loop loop, SequenceState s, int i, Round done) throws Exception {
        long now = loop.now();
        count(s, done, i);
        int sentBefore = s.tokensSent;
        int generatedBefore = s.generated.length;
        List<Progress> events = tracker.apply(s, done.outcome.emitted()[i], now);
        if (s.logprobs) {
            keepLogprobs(s, done.outcome.logProbs()[i], generatedBefore);
        }
        Progress progress = null;
        int first = sentBefore;
        for (Progress event : events) {
            loop.token(Records.tokenEvent(s, event, first));
            first += event.tokenIds().length;
            progress = event;
        }
        if (s.tokensSent > sentBefore) {
            serving.tokens(s, s.tokensSent - sentBefore, s.lastTokenAtMs, now);
            s.lastTokenAtMs = now;
        }
        if (progress != null && progress.finished()) {
            String text = tracker.finalText(s, progress.finishReason());
            if (answered.contains(s.requestId)) {
                // Restored mid-generation from a fallback checkpoint, its result already committed.
                answeredDropped.inc();
            } else {
                loop.result(
                        Records.result(
                                s,
                                text,
                                progress.finishReason(),
                                config.policy().policy().configName(),
                                now));
            }
            running.remove(s.requestId);
            released.add(s.requestId);
            completed.inc();
            serving.finished(s, now);
            return true;
        }
        running.put(s.requestId, s);
        return false;
    }

    private LoopRound newRound(int replicaKey, List<SequenceView> views) throws Exception {
        LoopRound round = new LoopRound();
        round.replica = replicaKey;
        round.number = value(rounds) + 1;
        rounds.update(round.number);
        round.round = Round.of(views);
        round.released = released.toArray(new String[0]);
        released.clear();
        round.startedNanos = System.nanoTime();
        return round;
    }

    private static void count(SequenceState s, Round round, int i) {
        s.speculation()
                .observeSequence(
                        round.drafts.tokens()[i].length,
                        round.outcome.verified()[i],
                        round.outcome.accepted()[i]);
        s.speculation().observeRound((double) round.allocation.budget() / round.size());
    }

    /**
     * Lines up the log-probabilities of a round's emitted tokens with the tokens the tracker kept:
     * the generated tokens from {@code from} on are the first emitted ones (an end-of-text token is
     * emitted last and never kept).
     */
    private static void keepLogprobs(SequenceState s, float[] emitted, int from) {
        float[] kept = java.util.Arrays.copyOf(s.generatedLogprobs, s.generated.length);
        for (int j = 0; from + j < kept.length && j < emitted.length; j++) {
            kept[from + j] = emitted[j];
        }
        s.generatedLogprobs = kept;
    }

    /**
     * Moves waiting sequences into free running slots, oldest first ({@link
     * ContinuousBatching#admit}). Called after every round and every new request, so it also keeps
     * the running and waiting gauges current.
     *
     * @return the running count afterwards
     */
    private int admit(Loop loop) throws Exception {
        ContinuousBatching.Occupancy now =
                ContinuousBatching.admit(store(loop), config.batch().maxRunning());
        serving.load(loop.key(), now.running(), now.waiting());
        return now.running();
    }

    private boolean queueFull() throws Exception {
        return runningCount() >= config.batch().maxRunning()
                && waitingSize() >= config.batch().maxWaiting();
    }

    private int runningCount() throws Exception {
        int n = 0;
        for (String ignored : running.keys()) {
            n++;
        }
        return n;
    }

    private int waitingSize() throws Exception {
        int n = 0;
        for (SequenceState ignored : waiting.get()) {
            n++;
        }
        return n;
    }

    private List<String> waitingIds() throws Exception {
        List<String> ids = new ArrayList<>();
        waiting.get().forEach(s -> ids.add(s.requestId));
        return ids;
    }

    private static void reject(
            Loop loop, GenerationRequest request, ErrorCode code, String message) {
        loop.error(
                GenerationError.newBuilder()
                        .setRequestId(request.getRequestId())
                        .setCode(code)
                        .setMessage(message)
                        .setAtMs(loop.now())
                        .build());
    }

    private static long value(ValueState<Long> state) throws Exception {
        Long v = state.value();
        return v == null ? 0 : v;
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (replica != null) {
            ReplicaRegistry.release(getRuntimeContext());
        }
    }
}
