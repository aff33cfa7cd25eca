package io.tetris.job.bench;

import io.tetris.policy.BudgetPolicy;
import io.tetris.policy.PolicyConfig;
import io.tetris.policy.PolicyConfig.Kind;
import io.tetris.policy.StepCostModel;
import java.util.ArrayList;
import java.util.List;

/**
 * One policy setting of the benchmark matrix.
 *
 * @param kind the policy
 * @param k its window ({@code fixed}, {@code tetris}); 0 where the policy picks it
 * @param extra extra draft tokens ({@code tetris}, {@code tetris-adaptive}); 0 otherwise
 */
public record BenchConfig(Kind kind, int k, int extra) {

    /** The extra draft tokens {@code tetris-adaptive} runs with in the matrix. */
    public static final int ADAPTIVE_EXTRA = 2;

    /**
     * The paper's matrix: none, fixed k = 1..6, dsd, tetris k = 1..6 with extra = 1..3, and
     * tetris-adaptive; the quick one keeps the windows around the best ones on the bundled pair.
     */
    public static List<BenchConfig> matrix(boolean quick) {
        List<BenchConfig> configs = new ArrayList<>();
        configs.add(new BenchConfig(Kind.NONE, 0, 0));
        int[] windows = quick ? new int[] {2, 3, 4} : new int[] {1, 2, 3, 4, 5, 6};
        int[] extras = quick ? new int[] {1, 2} : new int[] {1, 2, 3};
        for (int k : windows) {
            configs.add(new BenchConfig(Kind.FIXED, k, 0));
        }
        configs.add(new BenchConfig(Kind.DSD, 0, 0));
        for (int k : quick ? new int[] {2, 3} : windows) {
            for (int e : extras) {
                configs.add(new BenchConfig(Kind.TETRIS, k, e));
            }
        }
        configs.add(new BenchConfig(Kind.TETRIS_ADAPTIVE, 0, ADAPTIVE_EXTRA));
        return configs;
    }

    /**
     * Parses {@code none}, {@code fixed:K}, {@code dsd}, {@code tetris:K:EXTRA} or {@code
     * tetris-adaptive}, failing with the forms it takes.
     */
    public static BenchConfig parse(String spec) {
        String[] p = spec.trim().split(":");
        try {
            BenchConfig c =
                    switch (p[0]) {
                        case "none" -> new BenchConfig(Kind.NONE, 0, 0);
                        case "dsd" -> new BenchConfig(Kind.DSD, 0, 0);
                        case "tetris-adaptive" ->
                                new BenchConfig(Kind.TETRIS_ADAPTIVE, 0, ADAPTIVE_EXTRA);
                        case "fixed" -> new BenchConfig(Kind.FIXED, Integer.parseInt(p[1]), 0);
                        case "tetris" ->
                                new BenchConfig(
                                        Kind.TETRIS,
                                        Integer.parseInt(p[1]),
                                        Integer.parseInt(p[2]));
                        default -> throw new IllegalArgumentException();
                    };
            int parts = c.kind() == Kind.FIXED ? 2 : c.kind() == Kind.TETRIS ? 3 : 1;
            if (p.length != parts) {
                throw new IllegalArgumentException();
            }
            return c;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "a policy is none, fixed:K, dsd, tetris:K:EXTRA or tetris-adaptive, got '"
                            + spec
                            + "'");
        }
    }

    /** This setting applied over {@code base} (which carries the dsd tuning). */
    public PolicyConfig policy(PolicyConfig base) {
        return base.withPolicy(kind).withWindow(Math.max(1, k), extra);
    }

    /** A fresh policy of this setting over {@code base}, planning with {@code cost}. */
    public BudgetPolicy create(PolicyConfig base, StepCostModel cost) {
        return policy(base).create(cost);
    }

    public String policyName() {
        return kind.configName();
    }

    /** The setting's name in reports and logs, e.g. {@code tetris k=3 e=2}. */
    public String label() {
        return BenchRow.label(policyName(), k, extra);
    }
}
