package io.tetris.policy;

/**
 * What a policy learns from after a round: how its allocation fared and what the round cost.
 *
 * @param verified {@code [batch]} draft tokens verified per sequence
 * @param accepted {@code [batch]} of those, accepted
 * @param targetMargins {@code [batch]} the target's log-probability lead of its top token over the
 *     runner-up at the last emitted position (NaN where not known), or null
 * @param cost the round's measured time, or null where it was not measured
 */
public record RoundOutcome(int[] verified, int[] accepted, double[] targetMargins, RoundCost cost) {

    /** An outcome without margins or cost (tests, replays). */
    public static RoundOutcome of(int[] verified, int[] accepted) {
        return new RoundOutcome(verified, accepted, null, null);
    }
}
