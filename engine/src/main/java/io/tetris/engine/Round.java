package io.tetris.engine;

import io.tetris.core.SamplingParams;
import io.tetris.core.SpeculationStats;
import io.tetris.policy.Allocation;
import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.Candidates;
import io.tetris.policy.RoundCost;
import io.tetris.policy.RoundOutcome;
import io.tetris.policy.RoundShape;
import io.tetris.policy.StepCostModel;
import java.util.Arrays;
import java.util.List;

/**
 * One decode round: typed slots that its steps fill in order, and the steps themselves.
 *
 * <ol>
 *   <li>{@link #plan}: the policy picks the draft length for the batch;
 *   <li>{@link #draft}: the draft model proposes tokens;
 *   <li>{@link #allocate}: the policy spends the verification budget on them;
 *   <li>{@link #verify}: the target model verifies, losslessly;
 *   <li>{@link #learn}: the outcome and the round's cost go back to the policy.
 * </ol>
 *
 * <p>This is the only place a round is written down. {@link ContinuousBatching} chains the steps
 * (the benchmark with the models, the simulator with a recorded trace); in the Flink job each
 * operator of the decode loop calls one step on the round it is handed. It follows Flink's POJO
 * rules (public fields, a public no-arg constructor; the slots are records) so the job needs no
 * Kryo for it, without any Flink import.
 */
public final class Round {

    /** {@code [batch]} the sequences, in batch order. */
    public SequenceView[] sequences = new SequenceView[0];

    /**
     * Draft tokens asked per sequence at most ({@link #plan}): the longest of {@link
     * #draftLengths}.
     */
    public int draftLength;

    /** {@code [batch]} draft tokens asked per sequence ({@link #plan}). */
    public int[] draftLengths = new int[0];

    /** What the draft model proposed ({@link #draft}). */
    public Drafts drafts;

    /** The verification budget's use ({@link #allocate}). */
    public Allocation allocation;

    /** What the target accepted and emitted ({@link #verify}). */
    public Verified outcome;

    /** Prefill of sequences new to the draft and target models, kept out of the steps' times. */
    public long prefillNanos;

    public long draftNanos;
    public long allocateNanos;
    public long verifyNanos;

    public Round() {}

    /** A round over {@code batch}, in its order. */
    public static Round of(List<SequenceView> batch) {
        Round round = new Round();
        round.sequences = batch.toArray(new SequenceView[0]);
        return round;
    }

    /** Sequences in the round. */
    public int size() {
        return sequences.length;
    }

    /** The sequences as a list (a view, not a copy). */
    public List<SequenceView> views() {
        return Arrays.asList(sequences);
    }

    /** Step 1: the policy's draft length for this batch. */
    public Round plan(BudgetPolicy policy) {
        draftLengths = policy.plan(ids(), groups(), shape());
        draftLength = Arrays.stream(draftLengths).max().orElse(0);
        return this;
    }

    /** Step 2: drafts up to {@link #draftLength} tokens per sequence. */
    public Round draft(DraftStep drafter) {
        long start = System.nanoTime();
        List<SequenceView> planned = planned();
        if (draftLength > 0) {
            drafter.prefill(planned);
        }
        long prefilled = System.nanoTime();
        prefillNanos += prefilled - start;
        drafts = drafter.draft(planned, draftLength);
        draftNanos = System.nanoTime() - prefilled;
        return this;
    }

    /** Step 3: spends the round's verification budget on the drafts. */
    public Round allocate(BudgetPolicy policy) {
        long start = System.nanoTime();
        allocation =
                policy.allocate(
                        new Candidates(
                                ids(),
                                drafts.tokens(),
                                drafts.logProbs(),
                                drafts.probs(),
                                groups(),
                                weights(),
                                drafts.margins(),
                                lastTokens()),
                        shape());
        allocateNanos = System.nanoTime() - start;
        return this;
    }

    /** Step 4: verifies the allocated draft tokens with the target model. */
    public Round verify(VerifyStep verifier) {
        long start = System.nanoTime();
        verifier.prefill(views());
        long prefilled = System.nanoTime();
        prefillNanos += prefilled - start;
        outcome = verifier.verify(views(), drafts, allocation.verify());
        verifyNanos = System.nanoTime() - prefilled;
        return this;
    }

    /** Step 5: tells the policy how the round went and what it cost. */
    public Round learn(BudgetPolicy policy, RoundCost cost) {
        policy.learn(
                new RoundOutcome(
                        outcome.verified(), outcome.accepted(), outcome.targetMargins(), cost));
        return this;
    }

    /** Adds the round to {@code stats} (after {@link #verify}). */
    public void countInto(SpeculationStats stats) {
        for (int i = 0; i < outcome.emitted().length; i++) {
            stats.observeSequence(
                    drafts.tokens()[i].length, outcome.verified()[i], outcome.accepted()[i]);
        }
        stats.observeRound(allocation.budget());
    }

    /** The sequences with each one's draft capped at its planned length. */
    private List<SequenceView> planned() {
        if (draftLengths.length != size()) {
            return views();
        }
        List<SequenceView> planned = new java.util.ArrayList<>(size());
        for (int i = 0; i < size(); i++) {
            SequenceView s = sequences[i];
            planned.add(
                    s.maxDraft() <= draftLengths[i]
                            ? s
                            : new SequenceView(
                                    s.id(),
                                    s.tokens(),
                                    s.params(),
                                    s.seed(),
                                    s.priority(),
                                    draftLengths[i]));
        }
        return planned;
    }

    /** Sequences that drafted at least one token (after {@link #draft}). */
    public int draftRows() {
        int rows = 0;
        for (int[] row : drafts.tokens()) {
            rows += row.length > 0 ? 1 : 0;
        }
        return rows;
    }

    /** {@code [batch]} each sequence's last committed token. */
    private int[] lastTokens() {
        int[] last = new int[size()];
        for (int i = 0; i < last.length; i++) {
            int[] tokens = sequences[i].tokens();
            last[i] = tokens.length == 0 ? Candidates.UNKNOWN : tokens[tokens.length - 1];
        }
        return last;
    }

    /** {@code [batch]} request ids. */
    String[] ids() {
        String[] ids = new String[size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = sequences[i].id();
        }
        return ids;
    }

    /**
     * The round's measured model time, for policies that learn costs (after {@link #verify}); its
     * other time is the allocation (a loop that sees more of the round adds its host work).
     */
    public RoundCost cost() {
        RoundTiming t = timing();
        return new RoundCost(
                t.batchSize(),
                t.meanContextLength(),
                draftRows(),
                t.draftSteps(),
                t.draftSeconds(),
                t.verifyTokensPerSequence(),
                allocation.verified(),
                t.verifySeconds(),
                t.allocateSeconds());
    }

    /** Where the round's time went (after {@link #verify}). */
    public RoundTiming timing() {
        int steps = 0;
        for (int[] row : drafts.tokens()) {
            steps = Math.max(steps, row.length);
        }
        int longest = 0;
        for (int n : allocation.verify()) {
            longest = Math.max(longest, n);
        }
        return new RoundTiming(
                size(),
                shape().meanContextLength(),
                steps,
                longest + 1,
                prefillNanos / 1e9,
                draftNanos / 1e9,
                allocateNanos / 1e9,
                verifyNanos / 1e9);
    }

    /**
     * The time {@code cost} predicts for this round (after {@link #allocate}): its draft steps and
     * its verification pass.
     */
    public double predictedSeconds(StepCostModel cost) {
        return predictedCost(cost).seconds();
    }

    /** What the round would have measured under {@code model} (after {@link #verify}). */
    public RoundCost predictedCost(StepCostModel model) {
        int total = 0;
        int longest = 0;
        for (int v : allocation.verify()) {
            total += v;
            longest = Math.max(longest, v);
        }
        int steps = 0;
        for (int[] row : drafts.tokens()) {
            steps = Math.max(steps, row.length);
        }
        double context = shape().meanContextLength();
        int rows = draftRows();
        return new RoundCost(
                size(),
                context,
                rows,
                steps,
                model.draftSeconds(rows, steps, context),
                longest + 1,
                total,
                model.verifySeconds(size(), total, longest, context),
                0);
    }

    /** The policy's view of the batch: its size and mean committed length. */
    public RoundShape shape() {
        double total = 0;
        for (SequenceView s : sequences) {
            total += s.tokens().length;
        }
        return new RoundShape(size(), size() == 0 ? 0 : total / size());
    }

    /** {@code [batch]} priority weights. */
    double[] weights() {
        double[] weights = new double[size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = sequences[i].priority();
        }
        return weights;
    }

    /**
     * {@code [batch]} calibration groups: 0 for greedy requests, 1 for sampled ones, whose draft
     * confidence predicts acceptance differently.
     */
    int[] groups() {
        int[] groups = new int[size()];
        for (int i = 0; i < groups.length; i++) {
            groups[i] = sequences[i].params().greedy() ? 0 : 1;
        }
        return groups;
    }

    /**
     * The engine's view of a running sequence, with the draft cap every loop applies: no more than
     * is left of its token budget and of the model context, less the token the target always adds,
     * and no more than the request's own {@code max_draft_tokens}.
     */
    public static SequenceView view(SequenceState s, int maxContext) {
        return view(s, new SamplingParams(s.temperature, s.topK, s.topP), maxContext);
    }

    /** {@link #view(SequenceState, int)} with sampling parameters given at full precision. */
    public static SequenceView view(SequenceState s, SamplingParams params, int maxContext) {
        int[] context = s.context();
        int left = Math.min(s.maxNewTokens - s.generated.length, maxContext - context.length);
        // A request's own cap (max_draft_tokens; 0 turns speculation off for it) on top.
        int cap = s.maxDraftTokens < 0 ? Integer.MAX_VALUE : s.maxDraftTokens;
        return new SequenceView(
                s.requestId,
                context,
                params,
                s.seed,
                s.priority,
                Math.max(0, Math.min(cap, left - 1)));
    }
}
