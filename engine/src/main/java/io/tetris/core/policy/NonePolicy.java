package io.tetris.core.policy;

/** Target only: no drafting, one token per sequence per round. The no-speculation baseline. */
final class NonePolicy implements BudgetPolicy {

    @Override
    public String name() {
        return "none";
    }

    @Override
    public int draftLength(RoundShape shape) {
        return 0;
    }

    @Override
    public Allocation allocate(double[][] draftLogProbs, double[] weights, RoundShape shape) {
        return new Allocation(new int[draftLogProbs.length], 0);
    }
}
