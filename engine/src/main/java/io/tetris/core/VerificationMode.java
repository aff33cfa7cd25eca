package io.tetris.core;

import java.util.Locale;

/** How sampled (non-greedy) requests are drafted and verified; greedy ones are unaffected. */
public enum VerificationMode {
    /**
     * {@link CoupledSampling}: draft and target share per-position noise, so a request's tokens
     * depend only on its prompt and seed, whatever the batch, policy or restore.
     */
    COUPLED,
    /**
     * Standard speculative sampling ({@link SpeculativeSampling#verify}): the highest acceptance;
     * tokens replay only under the same schedule.
     */
    REJECTION;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VerificationMode parse(String name) {
        for (VerificationMode mode : values()) {
            if (mode.configName().equals(name.trim().toLowerCase(Locale.ROOT))) {
                return mode;
            }
        }
        throw new IllegalArgumentException(
                "unknown verification mode '" + name + "'; use coupled or rejection");
    }
}
