package io.tetris.policy;

/**
 * How well a policy's cost model predicted its rounds: each round's time predicted when its plan
 * was made, against the time measured afterwards (before that measurement trains the model).
 *
 * @param rounds rounds scored
 * @param medianRelativeError median of |predicted - measured| / measured
 * @param meanRelativeError mean of the same
 */
public record CostReport(long rounds, double medianRelativeError, double meanRelativeError) {}
