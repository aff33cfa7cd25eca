package io.tetris.engine;

import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.Allocation;
import io.tetris.core.policy.BudgetPolicy;
import io.tetris.core.policy.RoundShape;
import java.util.List;

/**
 * One decode round without Flink: plan the draft length, draft, allocate the verification budget,
 * verify, and feed the outcome back to the policy. The Flink job runs the same steps split across
 * the draft, window and verify operators; the benchmark and tests run them here.
 */
public final class RoundRunner {

    private final BudgetPolicy policy;
    private final Drafter drafter;
    private final Verifier verifier;
    private final SpeculationStats stats;
    private RoundTiming lastTiming;

    public RoundRunner(
            BudgetPolicy policy, Drafter drafter, Verifier verifier, SpeculationStats stats) {
        this.policy = policy;
        this.drafter = drafter;
        this.verifier = verifier;
        this.stats = stats;
    }

    /** Runs one round over {@code batch}; returns the tokens each sequence emits. */
    public Verified run(List<SequenceView> batch) {
        RoundShape shape = shapeOf(batch);
        long t0 = System.nanoTime();
        Drafts drafts = drafter.draft(batch, policy.draftLength(shape));
        long t1 = System.nanoTime();
        Allocation allocation =
                policy.allocate(drafts.logProbs(), weightsOf(batch), groupsOf(batch), shape);
        long t2 = System.nanoTime();
        Verified verified = verifier.verify(batch, drafts, allocation.verify());
        long t3 = System.nanoTime();
        policy.observe(verified.verified(), verified.accepted());
        record(stats, drafts, verified, allocation);
        int steps = 0;
        for (int[] row : drafts.tokens()) {
            steps = Math.max(steps, row.length);
        }
        int longest = 0;
        for (int n : allocation.verify()) {
            longest = Math.max(longest, n);
        }
        lastTiming =
                new RoundTiming(
                        batch.size(),
                        shape.meanContextLength(),
                        steps,
                        longest + 1,
                        (t1 - t0) / 1e9,
                        (t2 - t1) / 1e9,
                        (t3 - t2) / 1e9);
        return verified;
    }

    /** Where the last round's time went; null before the first round. */
    public RoundTiming lastTiming() {
        return lastTiming;
    }

    /** The policy's view of a batch: its size and mean committed length. */
    public static RoundShape shapeOf(List<SequenceView> batch) {
        double total = 0;
        for (SequenceView s : batch) {
            total += s.tokens().length;
        }
        return new RoundShape(batch.size(), batch.isEmpty() ? 0 : total / batch.size());
    }

    /** {@code [batch]} priority weights. */
    public static double[] weightsOf(List<SequenceView> batch) {
        double[] weights = new double[batch.size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = batch.get(i).priority();
        }
        return weights;
    }

    /**
     * {@code [batch]} calibration groups: 0 for greedy requests, 1 for sampled ones, whose draft
     * confidence predicts acceptance differently.
     */
    public static int[] groupsOf(List<SequenceView> batch) {
        int[] groups = new int[batch.size()];
        for (int i = 0; i < groups.length; i++) {
            groups[i] = batch.get(i).params().greedy() ? 0 : 1;
        }
        return groups;
    }

    /** Adds one round's counters to {@code stats}. */
    public static void record(
            SpeculationStats stats, Drafts drafts, Verified verified, Allocation allocation) {
        for (int i = 0; i < verified.emitted().length; i++) {
            stats.observeSequence(
                    drafts.tokens()[i].length, verified.verified()[i], verified.accepted()[i]);
        }
        stats.observeRound(allocation.budget());
    }
}
