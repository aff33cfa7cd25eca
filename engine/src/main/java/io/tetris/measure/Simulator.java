package io.tetris.measure;

import io.tetris.core.SamplingParams;
import io.tetris.core.SpeculationStats;
import io.tetris.engine.ContinuousBatching;
import io.tetris.engine.DraftStep;
import io.tetris.engine.Drafts;
import io.tetris.engine.RoundClock;
import io.tetris.engine.RoundObserver;
import io.tetris.engine.SequenceView;
import io.tetris.engine.Verified;
import io.tetris.engine.VerifyStep;
import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.StepCostModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replays a {@link Trace} under any policy and a step-cost model instead of the models: the same
 * continuous batching and round steps as {@link BenchLoop} ({@link ContinuousBatching}) with draft
 * and verify steps that replay the trace, so the policy's decisions are real, acceptance is the
 * recorded one, and round times are predicted by the cost model. Tokens and speculation counters
 * are exact; time is only as good as the cost model.
 */
public final class Simulator {

    private Simulator() {}

    public static RunResult run(Trace trace, int batch, BudgetPolicy policy, StepCostModel cost) {
        List<Trace.Sequence> sequences = trace.sequences();
        int[] position = new int[sequences.size()]; // [sequence] output tokens so far
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            if (sequences.get(i).windows().length > 0) {
                order.add(i);
            }
        }
        ContinuousBatching.Sequences replay =
                new ContinuousBatching.Sequences() {
                    @Override
                    public SequenceView view(int index) {
                        Trace.Sequence s = sequences.get(index);
                        // Only the lengths matter to a policy: the context's, and the window's.
                        return new SequenceView(
                                Integer.toString(index),
                                new int[s.promptLength() + position[index]],
                                s.group() == 0 ? SamplingParams.GREEDY : SAMPLED,
                                0,
                                1.0,
                                s.windows()[position[index]].logProbs().length);
                    }

                    @Override
                    public boolean apply(int index, int[] emitted) {
                        position[index] += emitted.length;
                        return position[index] >= sequences.get(index).windows().length;
                    }
                };
        DraftStep drafts =
                (batchViews, draftLength) -> {
                    int n = batchViews.size();
                    int[][] tokens = new int[n][]; // [batch][drafted_i], placeholders
                    float[][][] probs = new float[n][][]; // [batch][drafted_i][], never read
                    double[][] logProbs = new double[n][]; // [batch][drafted_i]
                    for (int r = 0; r < n; r++) {
                        Trace.Window w = window(sequences, position, batchViews.get(r));
                        int drafted =
                                Math.min(
                                        Math.min(draftLength, batchViews.get(r).maxDraft()),
                                        w.logProbs().length);
                        tokens[r] = new int[drafted];
                        probs[r] = new float[drafted][];
                        logProbs[r] = Arrays.copyOf(w.logProbs(), drafted);
                    }
                    return new Drafts(tokens, probs, logProbs);
                };
        VerifyStep verify =
                (batchViews, proposed, allocated) -> {
                    int n = batchViews.size();
                    int[][] emitted = new int[n][]; // [batch][accepted + 1], placeholders
                    int[] accepted = new int[n];
                    for (int r = 0; r < n; r++) {
                        Trace.Window w = window(sequences, position, batchViews.get(r));
                        accepted[r] = Math.min(allocated[r], w.acceptLength());
                        emitted[r] = new int[accepted[r] + 1];
                    }
                    return new Verified(emitted, allocated.clone(), accepted);
                };
        SpeculationStats stats = new SpeculationStats();
        double[] seconds = {0};
        RequestCounts perRequest = new RequestCounts(sequences.size(), Integer::parseInt);
        ContinuousBatching.run(
                order,
                batch,
                replay,
                policy,
                drafts,
                verify,
                RoundClock.predicted(cost),
                RoundObserver.counting(stats)
                        .andThen(perRequest)
                        .andThen((round, c) -> seconds[0] += c.seconds()));
        return new RunResult(
                seconds[0],
                seconds[0],
                trace.outputTokens(),
                stats,
                policy.calibration(),
                null,
                List.of(),
                List.of(),
                perRequest.verified,
                perRequest.accepted,
                policy.costReport(),
                java.util.Optional.empty(),
                RunResult.Phases.NONE);
    }

    /** Sampled rows calibrate apart from greedy ones; the temperature itself is never used. */
    private static final SamplingParams SAMPLED = new SamplingParams(1.0, 0, 1.0);

    private static Trace.Window window(
            List<Trace.Sequence> sequences, int[] position, SequenceView view) {
        int index = Integer.parseInt(view.id());
        return sequences.get(index).windows()[position[index]];
    }
}
