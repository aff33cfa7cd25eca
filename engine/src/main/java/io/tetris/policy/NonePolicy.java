package io.tetris.policy;

/** Target only: no drafting, one token per sequence per round. The no-speculation baseline. */
final class NonePolicy implements BudgetPolicy {

    @Override
    public String name() {
        return "none";
    }

    @Override
    public int[] plan(String[] ids, int[] groups, RoundShape shape) {
        return BudgetPolicy.uniform(draftLength(shape), ids.length);
    }

    /** Tokens to draft for every sequence of a batch of this shape. */
    int draftLength(RoundShape shape) {
        return 0;
    }

    @Override
    public Allocation allocate(Candidates candidates, RoundShape shape) {
        return new Allocation(new int[candidates.size()], 0);
    }
}
