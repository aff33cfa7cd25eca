package io.tetris.policy;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * Everything that selects and tunes a {@link BudgetPolicy}, validated once here so a bad setting
 * fails at start-up with a message saying what to change.
 *
 * @param policy which policy
 * @param k draft window ({@code fixed}, {@code tetris}: budget {@code k x B})
 * @param extra extra draft tokens per sequence for {@code tetris} and {@code tetris-adaptive}
 * @param tetrisMinBatch below this many running sequences {@code tetris} falls back to {@code
 *     fixed}
 * @param dsdMaxK largest window {@code dsd} and {@code tetris-adaptive} plan
 * @param dsdInitialAcceptance {@code dsd}'s and {@code tetris-adaptive}'s acceptance estimate
 *     before any feedback
 * @param dsdSmoothing weight of the newest round in {@code dsd}'s moving average
 * @param dsdNoSpeculationBonus factor favouring no speculation in {@code dsd} and {@code
 *     tetris-adaptive}
 * @param dsdUpdateInterval rounds between {@code dsd} re-plans
 * @param tetrisRanking what {@code tetris} ranks draft tokens by
 */
public record PolicyConfig(
        Kind policy,
        int k,
        int extra,
        int tetrisMinBatch,
        int dsdMaxK,
        double dsdInitialAcceptance,
        double dsdSmoothing,
        double dsdNoSpeculationBonus,
        int dsdUpdateInterval,
        Ranking tetrisRanking)
        implements java.io.Serializable {

    /** What {@code tetris} ranks draft tokens by. */
    public enum Ranking {
        /** The {@link AcceptancePredictor}'s learned estimates. */
        PREDICTED,
        /** The draft's own probability, as in the paper. */
        DRAFT;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Parses a configuration name, failing with the valid ones. */
        public static Ranking parse(String name) {
            for (Ranking r : values()) {
                if (r.configName().equals(name)) {
                    return r;
                }
            }
            throw new IllegalArgumentException(
                    "unknown tetris ranking '" + name + "'; use predicted or draft");
        }
    }

    /** The available policies, by configuration name. */
    public enum Kind {
        NONE,
        FIXED,
        DSD,
        TETRIS,
        TETRIS_ADAPTIVE;

        public String configName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** Parses a configuration name, failing with the list of valid ones. */
        public static Kind parse(String name) {
            for (Kind kind : values()) {
                if (kind.configName().equals(name)) {
                    return kind;
                }
            }
            throw new IllegalArgumentException(
                    "unknown policy '"
                            + name
                            + "'; use one of "
                            + Arrays.stream(values()).map(Kind::configName).toList());
        }
    }

    public PolicyConfig {
        Objects.requireNonNull(policy, "policy");
        require(k >= 1 && k <= 64, "k must be in [1, 64], was " + k);
        require(extra >= 0 && extra <= 64, "extra must be in [0, 64], was " + extra);
        require(tetrisMinBatch >= 1, "tetris min batch must be >= 1, was " + tetrisMinBatch);
        require(dsdMaxK >= 0 && dsdMaxK <= 64, "dsd max k must be in [0, 64], was " + dsdMaxK);
        require(
                dsdInitialAcceptance >= 0 && dsdInitialAcceptance <= 1,
                "dsd initial acceptance must be in [0, 1], was " + dsdInitialAcceptance);
        require(
                dsdSmoothing > 0 && dsdSmoothing <= 1,
                "dsd smoothing must be in (0, 1], was " + dsdSmoothing);
        require(
                dsdNoSpeculationBonus >= 1,
                "dsd no-speculation bonus must be >= 1, was " + dsdNoSpeculationBonus);
        require(dsdUpdateInterval >= 1, "dsd update interval must be >= 1");
        Objects.requireNonNull(tetrisRanking, "tetrisRanking");
    }

    /** Defaults: TETRIS with k = 4, extra = 2, on from 2 sequences; DSD as in SmartSpec. */
    public static PolicyConfig defaults() {
        return new PolicyConfig(Kind.TETRIS, 4, 2, 2, 6, 0.7, 0.15, 1.1, 1, Ranking.PREDICTED);
    }

    public PolicyConfig withPolicy(Kind newPolicy) {
        return new PolicyConfig(
                newPolicy,
                k,
                extra,
                tetrisMinBatch,
                dsdMaxK,
                dsdInitialAcceptance,
                dsdSmoothing,
                dsdNoSpeculationBonus,
                dsdUpdateInterval,
                tetrisRanking);
    }

    public PolicyConfig withRanking(Ranking ranking) {
        return new PolicyConfig(
                policy,
                k,
                extra,
                tetrisMinBatch,
                dsdMaxK,
                dsdInitialAcceptance,
                dsdSmoothing,
                dsdNoSpeculationBonus,
                dsdUpdateInterval,
                ranking);
    }

    public PolicyConfig withWindow(int newK, int newExtra) {
        return new PolicyConfig(
                policy,
                newK,
                newExtra,
                tetrisMinBatch,
                dsdMaxK,
                dsdInitialAcceptance,
                dsdSmoothing,
                dsdNoSpeculationBonus,
                dsdUpdateInterval,
                tetrisRanking);
    }

    /** A new policy instance for one verifier replica. */
    public BudgetPolicy create(StepCostModel costModel) {
        return switch (policy) {
            case NONE -> new NonePolicy();
            case FIXED -> new FixedPolicy(k);
            case TETRIS ->
                    new TetrisPolicy(
                            k,
                            extra,
                            tetrisMinBatch,
                            tetrisRanking == Ranking.PREDICTED
                                    ? new AcceptancePredictor(dsdInitialAcceptance)
                                    : null);
            case TETRIS_ADAPTIVE ->
                    new AdaptiveTetrisPolicy(
                            Math.max(1, dsdMaxK) + extra,
                            costModel,
                            new AcceptancePredictor(dsdInitialAcceptance),
                            dsdNoSpeculationBonus);
            case DSD ->
                    new DsdPolicy(
                            dsdMaxK,
                            costModel,
                            dsdInitialAcceptance,
                            dsdSmoothing,
                            dsdNoSpeculationBonus,
                            dsdUpdateInterval);
        };
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
