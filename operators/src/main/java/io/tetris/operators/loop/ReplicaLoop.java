package io.tetris.operators.loop;

import io.tetris.engine.CachedModel;
import io.tetris.engine.ContinuousBatching;
import io.tetris.engine.Drafter;
import io.tetris.engine.Progress;
import io.tetris.engine.Round;
import io.tetris.engine.RoundClock;
import io.tetris.engine.SequenceState;
import io.tetris.engine.SequenceTracker;
import io.tetris.engine.SequenceView;
import io.tetris.engine.Verifier;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.operators.TaskModels;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.dedupe.AnsweredIds;
import io.tetris.policy.BudgetPolicy;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One verifier replica's decode loop, keyed by replica: continuous batching over a bounded running
 * batch and a bounded waiting queue, and the round over the running batch in four named steps, the
 * design's four roles: batch (admit into free slots), draft (the draft model proposes), window (the
 * budget policy picks which drafted tokens the target verifies) and verify (the target verifies
 * losslessly), after which the policy learns the outcome and its cost. The round is the engine's
 * ({@link ContinuousBatching#chained}), the same sequence the benchmark and the simulator run.
 *
 * <p>Its keyed state is the only source of truth: every sequence of the replica, its round counter,
 * and what its policy learned (written at each checkpoint by {@link ReplicaLoopOperator}, restored
 * when the replica's first round runs after a restore or a rescale). The models and their caches
 * are task-local and rebuilt from the sequences' context. A round runs inside one processing-time
 * timer callback (one mailbox action), so requests and checkpoint barriers slot in between rounds
 * and a checkpoint always sees a round boundary.
 */
public final class ReplicaLoop extends KeyedProcessFunction<Integer, GenerationRequest, Void> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaLoop.class);

    // ----- configuration -----
    private final TetrisConfig config;
    private final int endOfText;

    // ----- runtime -----
    private transient MapState<String, SequenceState> running;
    private transient ListState<SequenceState> waiting;
    private transient ValueState<Long> admitted;
    private transient ValueState<Long> rounds;
    private transient ValueState<byte[]> learned;
    private transient ValueState<String> learnedBy;
    private transient Map<Integer, Replica> replicas;
    private transient volatile BudgetPolicy lastPolicy;
    private transient HuggingFaceTextTokenizer tokenizer;
    private transient CachedModel draftModel;
    private transient CachedModel targetModel;
    private transient Drafter drafter;
    private transient Verifier verifier;
    private transient SequenceTracker tracker;
    private transient ServingMetrics serving;
    private transient AnsweredIds answered;
    private transient Counter answeredDropped;

    /** A replica's policy and its clock, rebuilt from keyed state after a restore. */
    private record Replica(BudgetPolicy policy, RoundClock clock) {}

    /** Reads the end-of-text token from the tokenizer on the TaskManager. */
    public ReplicaLoop(TetrisConfig config) {
        this(config, -1);
    }

    /** With the end-of-text token given ({@code -1}: read it on the TaskManager). */
    public ReplicaLoop(TetrisConfig config, int endOfText) {
        this.config = Objects.requireNonNull(config, "config");
        this.endOfText = endOfText;
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
        learned =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "learned",
                                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        learnedBy =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("learned-by", Types.STRING));
        replicas = new HashMap<>();
        TaskAttempts.opened(getRuntimeContext());
        tokenizer = TaskModels.tokenizer(getRuntimeContext(), config.models());
        int eos =
                endOfText >= 0
                        ? endOfText
                        : TaskModels.endOfText(getRuntimeContext(), config.models());
        draftModel = TaskModels.draft(getRuntimeContext(), config.models());
        targetModel = TaskModels.target(getRuntimeContext(), config.models());
        drafter = new Drafter(draftModel, eos, config.verification());
        verifier = new Verifier(targetModel, config.verification());
        tracker =
                new SequenceTracker(
                        tokenizer,
                        config.models().onnx().maxContext(),
                        config.batch().tokenChunk());
        var metrics = getRuntimeContext().getMetricGroup();
        answered = AnsweredIds.load(config.answeredIds());
        answeredDropped = metrics.counter("answeredResultsDropped");
        // The policy of the replica that ran last: one per task but for a rescaled job.
        serving =
                new ServingMetrics(
                        metrics,
                        config.costModel(),
                        () -> lastPolicy == null ? Optional.empty() : lastPolicy.calibration(),
                        () -> lastPolicy == null ? Optional.empty() : lastPolicy.costReport());
    }

    /**
     * The replica's policy: created on its first round in this task, continuing from what it
     * learned before a restore or rescale where its keyed state holds that.
     */
    private Replica replica(int key) throws Exception {
        Replica replica = replicas.get(key);
        if (replica == null) {
            BudgetPolicy policy = config.policy().create(config.costModel());
            byte[] saved = learned.value();
            if (saved != null && policy.name().equals(learnedBy.value())) {
                try {
                    policy.restore(saved);
                } catch (IllegalArgumentException e) {
                    // What a policy learned only makes it faster: never a reason not to serve.
                    LOG.warn(
                            "replica {}: starting {} afresh: {}",
                            key,
                            policy.name(),
                            e.getMessage());
                    policy = config.policy().create(config.costModel());
                }
            }
            replica = new Replica(policy, RoundClock.wall());
            replicas.put(key, replica);
        }
        lastPolicy = replica.policy();
        return replica;
    }

    /** Replica keys whose policy runs in this task. */
    Iterable<Integer> replicaKeys() {
        return List.copyOf(replicas.keySet());
    }

    /** Writes what the current key's policy learned into keyed state (at a checkpoint). */
    void saveLearned(int key) throws Exception {
        Replica replica = replicas.get(key);
        byte[] bytes = replica == null ? new byte[0] : replica.policy().learned();
        if (bytes.length > 0) {
            learned.update(bytes);
            learnedBy.update(replica.policy().name());
        }
    }

    /** What the policy of replica {@code key} has learned, restoring it first if needed. */
    byte[] learnedOf(int key) throws Exception {
        return replica(key).policy().learned();
    }

    /** Where a round's outputs go: a function context, or the operator at end of input. */
    interface Loop {
        int key();

        long now();

        void token(TokenEvent event);

        void result(GenerationResult result);

        void error(GenerationError error);

        static Loop of(Context ctx) {
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
    public void processElement(GenerationRequest request, Context ctx, Collector<Void> out)
            throws Exception {
        Loop loop = Loop.of(ctx);
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
        waiting.add(Records.newSequence(request, order, arrival(ctx.timestamp(), now)));
        admit(loop);
        scheduleRound(ctx);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Void> out) throws Exception {
        Loop loop = Loop.of(ctx);
        if (admit(loop) == 0) {
            return;
        }
        ContinuousBatching.step(store(loop), rounds(loop));
        if (admit(loop) > 0) {
            scheduleRound(ctx);
        } else {
            replica(loop.key()).clock().idle();
        }
    }

    /**
     * When a request arrived: when it reached Kafka (its record's timestamp, carried through
     * validation), not when the loop read it, since under backpressure it waits in the topic and a
     * user waits with it; never later than now, and now where the record has no timestamp.
     */
    static long arrival(Long recordTimestamp, long nowMs) {
        return recordTimestamp == null || recordTimestamp <= 0
                ? nowMs
                : Math.min(nowMs, recordTimestamp);
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
                ReplicaLoop.this.running.values().forEach(batch::add);
                batch.sort(Comparator.comparingLong(s -> s.order));
                return batch;
            }

            @Override
            public int runningCount() throws Exception {
                // Keys only: admission after every round need not read every sequence's state.
                return ReplicaLoop.this.runningCount();
            }

            @Override
            public List<SequenceState> waiting() throws Exception {
                List<SequenceState> queue = new ArrayList<>();
                ReplicaLoop.this.waiting.get().forEach(queue::add);
                return queue;
            }

            @Override
            public void start(List<SequenceState> admitted, List<SequenceState> rest)
                    throws Exception {
                for (SequenceState s : admitted) {
                    s.admittedAtMs = loop.now();
                    serving.admitted(s);
                    ReplicaLoop.this.running.put(s.requestId, s);
                }
                ReplicaLoop.this.waiting.update(rest);
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
     * Runs a round over the running batch: the engine's steps, chained, with the replica's policy
     * and clock; the serving metrics observe it.
     */
    private ContinuousBatching.Rounds rounds(Loop loop) throws Exception {
        Replica replica = replica(loop.key());
        ContinuousBatching.Rounds steps =
                ContinuousBatching.chained(
                        replica.policy(),
                        drafter,
                        verifier,
                        replica.clock(),
                        (round, cost) -> serving.round(round));
        return views -> {
            long number = value(rounds) + 1;
            rounds.update(number);
            maybeFail(loop.key(), number);
            return steps.run(views);
        };
    }

    /**
     * Chaos testing: attempt {@code i} of this task fails when its replica reaches the {@code i}-th
     * configured round, so each configured failure happens exactly once however far the restore
     * rewinds.
     */
    private void maybeFail(int replica, long round) {
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        if (attempt < config.failAtRounds().size() && round == config.failAtRounds().get(attempt)) {
            throw new ChaosFailure(
                    "chaos: the decode loop fails at round "
                            + round
                            + " of replica "
                            + replica
                            + " (attempt "
                            + attempt
                            + ", tetris.chaos.fail-at-round)");
        }
    }

    /** The failure injected by {@code tetris.chaos.fail-at-round}. */
    public static final class ChaosFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ChaosFailure(String message) {
            super(message);
        }
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
            // Its caches in both models: a finished sequence never comes back.
            draftModel.release(s.requestId);
            targetModel.release(s.requestId);
            serving.finished(s, now);
            return true;
        }
        running.put(s.requestId, s);
        return false;
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
        if (draftModel != null) {
            draftModel.close();
        }
        if (targetModel != null) {
            targetModel.close();
        }
    }
}
