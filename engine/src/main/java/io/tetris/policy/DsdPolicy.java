package io.tetris.policy;

import java.util.Objects;

/**
 * SmartSpec-style dynamic speculative decoding (DSD, Liu et al. 2024), the baseline TETRIS is
 * measured against: one window {@code k} for the whole batch, chosen to maximise goodput = expected
 * generated tokens / predicted round time.
 *
 * <p>Expected generated tokens for window {@code k} over {@code B} sequences follow the i.i.d.
 * acceptance model {@code B (1 - a^(k+1)) / (1 - a)}, with {@code a} an exponential moving average
 * of the observed per-round acceptance rate. {@code k = 0} gets a bonus factor (1.1 in the
 * original) so speculation must beat plain decoding clearly. Unlike the original, which stops at
 * the first non-improving {@code k} and re-plans every 20 steps, this evaluates every {@code k} up
 * to the maximum every {@code updateInterval} rounds; both are cheap.
 */
final class DsdPolicy implements BudgetPolicy {

    private final int maxK;
    private final StepCostModel costModel;
    private final double smoothing;
    private final double noSpeculationBonus;
    private final int updateInterval;

    private double acceptanceEstimate;
    private int currentK = -1;
    private long roundsSincePlan;

    DsdPolicy(
            int maxK,
            StepCostModel costModel,
            double initialAcceptance,
            double smoothing,
            double noSpeculationBonus,
            int updateInterval) {
        if (maxK < 0 || updateInterval < 1) {
            throw new IllegalArgumentException(
                    "dsd needs max k >= 0 and update interval >= 1, got "
                            + maxK
                            + ", "
                            + updateInterval);
        }
        if (!(initialAcceptance >= 0 && initialAcceptance <= 1)
                || !(smoothing > 0 && smoothing <= 1)
                || !(noSpeculationBonus >= 1)) {
            throw new IllegalArgumentException(
                    "dsd needs initial acceptance in [0, 1], smoothing in (0, 1] and a"
                            + " no-speculation bonus >= 1");
        }
        this.maxK = maxK;
        this.costModel = Objects.requireNonNull(costModel, "costModel");
        this.acceptanceEstimate = initialAcceptance;
        this.smoothing = smoothing;
        this.noSpeculationBonus = noSpeculationBonus;
        this.updateInterval = updateInterval;
    }

    @Override
    public String name() {
        return "dsd";
    }

    @Override
    public int[] plan(String[] ids, int[] groups, RoundShape shape) {
        return BudgetPolicy.uniform(draftLength(shape), ids.length);
    }

    /** Tokens to draft for every sequence of a batch of this shape. */
    int draftLength(RoundShape shape) {
        if (currentK < 0 || roundsSincePlan >= updateInterval) {
            currentK = bestK(shape);
            roundsSincePlan = 0;
        }
        roundsSincePlan++;
        return currentK;
    }

    @Override
    public Allocation allocate(Candidates candidates, RoundShape shape) {
        return Allocation.window(candidates.logProbs(), Math.max(currentK, 0));
    }

    @Override
    public void learn(RoundOutcome outcome) {
        int[] verified = outcome.verified();
        int[] accepted = outcome.accepted();
        long v = 0;
        long a = 0;
        for (int i = 0; i < verified.length; i++) {
            v += verified[i];
            a += accepted[i];
        }
        if (v > 0) {
            acceptanceEstimate =
                    (1 - smoothing) * acceptanceEstimate + smoothing * ((double) a / v);
        }
    }

    /** The current moving-average acceptance rate. */
    double acceptanceEstimate() {
        return acceptanceEstimate;
    }

    /** Goodput of window {@code k}: expected generated tokens per second. */
    double goodput(int k, RoundShape shape) {
        int b = Math.max(shape.batchSize(), 1);
        double seconds = costModel.roundSeconds(b, k, k, shape.meanContextLength());
        double goodput = b * expectedTokensPerSequence(k) / seconds;
        return k == 0 ? goodput * noSpeculationBonus : goodput;
    }

    private int bestK(RoundShape shape) {
        int best = 0;
        double bestGoodput = goodput(0, shape);
        for (int k = 1; k <= maxK; k++) {
            double g = goodput(k, shape);
            if (g > bestGoodput) {
                best = k;
                bestGoodput = g;
            }
        }
        return best;
    }

    /** {@code (1 - a^(k+1)) / (1 - a)}, i.e. {@code 1 + a + ... + a^k}. */
    private double expectedTokensPerSequence(int k) {
        double sum = 0;
        double term = 1;
        for (int j = 0; j <= k; j++) {
            sum += term;
            term *= acceptanceEstimate;
        }
        return sum;
    }
}
