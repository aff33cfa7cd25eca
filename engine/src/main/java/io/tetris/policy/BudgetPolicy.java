package io.tetris.policy;

import java.util.Optional;

/**
 * How one verifier replica spends speculation in a round, in three calls: {@link #plan} (how many
 * tokens to draft per sequence), {@link #allocate} (which of the drafted tokens the target
 * verifies) and {@link #learn} (the round's outcome and cost). One instance per replica; the same
 * instance sees each round's three calls in that order.
 *
 * <p>What a policy learns about the models and the machine (acceptance, costs) outlives its task:
 * {@link #learned} is kept in Flink state with the replica and given back by {@link #restore}.
 */
public interface BudgetPolicy {

    /**
     * The configuration name ({@code none}, {@code fixed}, {@code dsd}, {@code tetris}, {@code
     * tetris-adaptive}).
     */
    String name();

    /**
     * Tokens to draft per sequence in the coming round, so a request the policy expects to reject
     * early does not draft what will not be verified.
     *
     * @param ids {@code [batch]} request ids
     * @param groups {@code [batch]} calibration group of each request (0 greedy, 1 sampled)
     * @return {@code [batch]} at most this many tokens per sequence
     */
    int[] plan(String[] ids, int[] groups, RoundShape shape);

    /** Leading draft tokens to verify per sequence, given everything the round knows of them. */
    Allocation allocate(Candidates candidates, RoundShape shape);

    /** Feedback after verification: the outcome per sequence and the round's measured time. */
    default void learn(RoundOutcome outcome) {}

    /** How well this policy's acceptance estimates matched outcomes, if it keeps estimates. */
    default Optional<CalibrationReport> calibration() {
        return Optional.empty();
    }

    /** How well this policy's cost model predicted its rounds, if it predicts them. */
    default Optional<CostReport> costReport() {
        return Optional.empty();
    }

    /**
     * What this policy learned about the models and the machine (costs, how draft confidence
     * relates to acceptance, its guard's measurements), but nothing about its requests: what a
     * replica keeps across restarts and rescaling. Empty for policies that learn nothing worth
     * keeping.
     */
    default byte[] learned() {
        return new byte[0];
    }

    /**
     * Continues from {@code learned}, written by {@link #learned} of a policy of the same
     * configuration; empty bytes leave this one as it is.
     *
     * @throws IllegalArgumentException when the bytes are not this policy's
     */
    default void restore(byte[] learned) {
        if (learned.length > 0) {
            throw new IllegalArgumentException(name() + " keeps no learned state");
        }
    }

    /** The same draft length for every sequence: policies that plan per batch, not per request. */
    static int[] uniform(int length, int batch) {
        int[] lengths = new int[batch];
        java.util.Arrays.fill(lengths, length);
        return lengths;
    }
}
