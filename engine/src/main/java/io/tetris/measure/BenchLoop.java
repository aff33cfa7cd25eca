package io.tetris.measure;

import io.tetris.core.SpeculationStats;
import io.tetris.engine.ContinuousBatching;
import io.tetris.engine.Drafter;
import io.tetris.engine.Progress;
import io.tetris.engine.Round;
import io.tetris.engine.RoundClock;
import io.tetris.engine.RoundObserver;
import io.tetris.engine.RoundTiming;
import io.tetris.engine.SequenceState;
import io.tetris.engine.SequenceTracker;
import io.tetris.engine.SequenceView;
import io.tetris.engine.Verifier;
import io.tetris.model.ModelTraffic;
import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.CostScore;
import io.tetris.policy.OnlineCostModel;
import io.tetris.policy.StepCostFit;
import io.tetris.policy.StepCostModel;
import io.tetris.schemas.FinishReason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Continuous batching over the Flink-free engine: keeps {@code batch} sequences running, admits the
 * next waiting request as soon as one finishes, and times the whole workload. The same round steps
 * as the job, without Flink or Kafka, so policies are compared on model time alone.
 */
public final class BenchLoop {

    private final BenchModels models;

    public BenchLoop(BenchModels models) {
        this.models = models;
    }

    /** Runs the workload to completion with a fresh policy instance. */
    public RunResult run(Workload workload, int batch, BudgetPolicy policy) {
        return run(workload, batch, policy, null);
    }

    /**
     * Runs the workload with a fresh policy instance; with a {@code shadow} cost model, each
     * round's time is predicted by it before the round trains it, and the run reports its error.
     */
    public RunResult run(
            Workload workload, int batch, BudgetPolicy policy, OnlineCostModel shadow) {
        int eos = models.tokenizer().endOfTextId();
        SequenceTracker tracker = new SequenceTracker(models.tokenizer(), models.maxContext());
        SpeculationStats stats = new SpeculationStats();
        List<Workload.Request> requests = workload.requests();
        SequenceState[] states = new SequenceState[requests.size()];
        boolean[] endedOnEos = new boolean[requests.size()];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < states.length; i++) {
            Workload.Request r = requests.get(i);
            SequenceState s = new SequenceState();
            s.requestId = r.id();
            s.promptTokens = r.prompt();
            s.maxNewTokens = r.maxNewTokens();
            s.temperature = (float) r.params().temperature();
            s.seed = r.seed();
            states[i] = s;
            order.add(i);
        }
        List<StepCostFit.Sample> draftSamples = new ArrayList<>();
        List<StepCostFit.Sample> verifySamples = new ArrayList<>();
        long[] tokens = {0};
        java.util.Map<String, Integer> index = new java.util.HashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            index.put(requests.get(i).id(), i);
        }
        RequestCounts perRequest = new RequestCounts(requests.size(), index::get);
        CostScore shadowScore = new CostScore();
        ContinuousBatching.Sequences sequences =
                new ContinuousBatching.Sequences() {
                    @Override
                    public SequenceView view(int index) {
                        return Round.view(
                                states[index], requests.get(index).params(), models.maxContext());
                    }

                    @Override
                    public boolean apply(int index, int[] emitted) {
                        SequenceState s = states[index];
                        int before = s.generated.length;
                        List<Progress> events = tracker.apply(s, emitted, 0);
                        tokens[0] += s.generated.length - before;
                        Progress last = events.isEmpty() ? null : events.get(events.size() - 1);
                        if (last == null || !last.finished()) {
                            return false;
                        }
                        endedOnEos[index] = last.finishReason() == FinishReason.EOS;
                        models.draft().release(s.requestId);
                        models.target().release(s.requestId);
                        return true;
                    }
                };
        ModelTraffic draftBefore = models.draft().model().traffic().copy();
        ModelTraffic targetBefore = models.target().model().traffic().copy();
        long start = System.nanoTime();
        double[] phase = new double[3];
        ContinuousBatching.run(
                order,
                batch,
                sequences,
                policy,
                new Drafter(models.draft(), eos),
                new Verifier(models.target()),
                RoundClock.wall(),
                RoundObserver.counting(stats)
                        .andThen(perRequest)
                        .andThen(
                                (round, cost) -> {
                                    if (shadow != null) {
                                        shadowScore.add(
                                                round.predictedSeconds(shadow),
                                                round.cost().seconds());
                                        shadow.observe(round.cost());
                                    }
                                    RoundTiming t = round.timing();
                                    phase[0] += t.prefillSeconds();
                                    phase[1] += t.draftSeconds();
                                    phase[2] += t.verifySeconds();
                                    if (t.draftSteps() > 0) {
                                        draftSamples.add(
                                                new StepCostFit.Sample(
                                                        t.batchSize(),
                                                        1,
                                                        t.meanContextLength(),
                                                        t.draftSeconds() / t.draftSteps()));
                                    }
                                    // A pass costs its mean tokens per row: the runner skips the
                                    // padding.
                                    verifySamples.add(
                                            new StepCostFit.Sample(
                                                    t.batchSize(),
                                                    StepCostModel.meanTokensPerSequence(
                                                            t.batchSize(),
                                                            round.cost().verifiedTokens()),
                                                    t.meanContextLength(),
                                                    t.verifySeconds()));
                                }));
        double seconds = (System.nanoTime() - start) / 1e9;
        double modelSeconds =
                (models.draft().model().traffic().since(draftBefore).modelNanos
                                + models.target().model().traffic().since(targetBefore).modelNanos)
                        / 1e9;
        int[][] outputs = new int[states.length][];
        for (int i = 0; i < states.length; i++) {
            int[] g = states[i].generated;
            outputs[i] = endedOnEos[i] ? append(g, eos) : g;
        }
        return new RunResult(
                seconds,
                modelSeconds,
                tokens[0],
                stats,
                policy.calibration(),
                outputs,
                draftSamples,
                verifySamples,
                perRequest.verified,
                perRequest.accepted,
                policy.costReport(),
                shadow == null ? Optional.empty() : Optional.of(shadowScore.report()),
                new RunResult.Phases(phase[0], phase[1], phase[2]));
    }

    private static int[] append(int[] tokens, int token) {
        int[] out = Arrays.copyOf(tokens, tokens.length + 1);
        out[tokens.length] = token;
        return out;
    }
}
