package io.tetris.bench;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.Allocation;
import io.tetris.core.policy.BudgetPolicy;
import io.tetris.core.policy.RoundShape;
import io.tetris.core.policy.StepCostModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replays a {@link Trace} under any policy and a step-cost model instead of the models: the same
 * continuous batching as {@link BenchLoop}, the policy's real decisions, the recorded acceptance,
 * and round times predicted by the cost model. Tokens and speculation counters are exact; time is
 * only as good as the cost model.
 */
public final class Simulator {

    private Simulator() {}

    public static RunResult run(Trace trace, int batch, BudgetPolicy policy, StepCostModel cost) {
        if (batch < 1) {
            throw new IllegalArgumentException("running batch must be >= 1, was " + batch);
        }
        List<Trace.Sequence> sequences = trace.sequences();
        int[] position = new int[sequences.size()];
        ArrayDeque<Integer> waiting = new ArrayDeque<>();
        for (int i = 0; i < sequences.size(); i++) {
            if (sequences.get(i).windows().length > 0) {
                waiting.add(i);
            }
        }
        SpeculationStats stats = new SpeculationStats();
        List<Integer> running = new ArrayList<>();
        double seconds = 0;
        while (!waiting.isEmpty() || !running.isEmpty()) {
            while (running.size() < batch && !waiting.isEmpty()) {
                running.add(waiting.poll());
            }
            int n = running.size();
            double context = 0;
            for (int i : running) {
                context += sequences.get(i).promptLength() + position[i];
            }
            RoundShape shape = new RoundShape(n, context / n);
            int draftLength = policy.draftLength(shape);
            double[][] logProbs = new double[n][]; // [batch][drafted_i]
            int[] groups = new int[n];
            double[] weights = new double[n];
            int draftSteps = 0;
            for (int r = 0; r < n; r++) {
                Trace.Sequence s = sequences.get(running.get(r));
                double[] window = s.windows()[position[running.get(r)]].logProbs();
                logProbs[r] = Arrays.copyOf(window, Math.min(draftLength, window.length));
                draftSteps = Math.max(draftSteps, logProbs[r].length);
                groups[r] = s.group();
                weights[r] = 1.0;
            }
            Allocation allocation = policy.allocate(logProbs, weights, groups, shape);
            int[] verify = allocation.verify();
            int[] accepted = new int[n];
            int total = 0;
            int longest = 0;
            List<Integer> next = new ArrayList<>(n);
            for (int r = 0; r < n; r++) {
                int index = running.get(r);
                Trace.Sequence s = sequences.get(index);
                accepted[r] = Math.min(verify[r], s.windows()[position[index]].acceptLength());
                total += verify[r];
                longest = Math.max(longest, verify[r]);
                stats.observeSequence(logProbs[r].length, verify[r], accepted[r]);
                position[index] += accepted[r] + 1;
                if (position[index] < s.windows().length) {
                    next.add(index);
                }
            }
            stats.observeRound(allocation.budget());
            policy.observe(verify, accepted);
            seconds +=
                    draftSteps * cost.draftStepSeconds(n, shape.meanContextLength())
                            + cost.verifySeconds(n, total, longest, shape.meanContextLength());
            running = next;
        }
        return new RunResult(
                seconds,
                seconds,
                trace.outputTokens(),
                stats,
                policy.calibration(),
                null,
                List.of(),
                List.of());
    }
}
