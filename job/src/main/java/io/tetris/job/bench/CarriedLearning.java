package io.tetris.job.bench;

import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.OnlineCostModel;
import io.tetris.policy.StepCostModel;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the bench's learning carries from one run to the next, as a long-running replica would: one
 * online cost model that learns every timed round of the warm-up and the measured runs, in order,
 * and the last instance of each learning configuration. Never anything about requests.
 */
public final class CarriedLearning {

    private final OnlineCostModel costModel;
    private final Map<String, BudgetPolicy> lastPolicy = new HashMap<>();

    /** Starts the shared cost model from {@code prior} (the start-up profile's). */
    public CarriedLearning(StepCostModel prior) {
        this.costModel = new OnlineCostModel(prior);
    }

    /**
     * The cost model every run feeds: its error on rounds it has not seen yet is the cost model's
     * figure over the whole range of round shapes.
     */
    public OnlineCostModel costModel() {
        return costModel;
    }

    /** The last policy run under {@code config}, if any. */
    public Optional<BudgetPolicy> last(BenchConfig config) {
        return Optional.ofNullable(lastPolicy.get(config.label()));
    }

    /**
     * {@code fresh}, continuing from what the last run of {@code config} learned about the models
     * and the machine, as a replica restored from a checkpoint does.
     */
    public BudgetPolicy continued(BenchConfig config, BudgetPolicy fresh) {
        last(config).ifPresent(previous -> fresh.restore(previous.learned()));
        return fresh;
    }

    /** Remembers {@code policy} as the one the next run of {@code config} carries over from. */
    public void remember(BenchConfig config, BudgetPolicy policy) {
        lastPolicy.put(config.label(), policy);
    }
}
