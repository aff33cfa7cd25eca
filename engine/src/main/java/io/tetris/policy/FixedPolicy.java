package io.tetris.policy;

/** Standard speculative decoding: draft and verify a fixed window of {@code k} per sequence. */
final class FixedPolicy implements BudgetPolicy {

    private final int k;

    FixedPolicy(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("fixed policy needs k >= 1, was " + k);
        }
        this.k = k;
    }

    @Override
    public String name() {
        return "fixed";
    }

    @Override
    public int[] plan(String[] ids, int[] groups, RoundShape shape) {
        return BudgetPolicy.uniform(draftLength(shape), ids.length);
    }

    /** Tokens to draft for every sequence of a batch of this shape. */
    int draftLength(RoundShape shape) {
        return k;
    }

    @Override
    public Allocation allocate(Candidates candidates, RoundShape shape) {
        return Allocation.window(candidates.logProbs(), k);
    }
}
