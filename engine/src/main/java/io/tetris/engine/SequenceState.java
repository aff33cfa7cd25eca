package io.tetris.engine;

import io.tetris.core.SpeculationStats;
import java.util.Arrays;

/**
 * Everything the loop head checkpoints about one request: its parameters, the tokens committed so
 * far, how much of them clients have already been sent, and its speculation counters. The KV caches
 * are not here: they are rebuilt from {@link #context()} after a restore.
 *
 * <p>A Flink POJO (public fields, no-arg constructor) so Flink serialises it without Kryo and can
 * evolve it by adding fields.
 */
public final class SequenceState {

    // ----- request -----
    public String requestId;
    public int[] promptTokens = new int[0];
    public int maxNewTokens;
    public float temperature;
    public float topP = 1f;
    public int topK;
    public long seed;
    public double priority = 1.0;
    public String[] stop = new String[0];
    public long receivedAtMs;

    /** Draft tokens per round at most; -1: the policy decides, 0: no speculation. */
    public int maxDraftTokens = -1;

    /** Whether the client asked for the log-probability of each generated token. */
    public boolean logprobs;

    /** Admission order on its replica; rounds list sequences in this order. */
    public long order;

    public long admittedAtMs;

    // ----- progress -----
    /** Generated tokens, end-of-text excluded. */
    public int[] generated = new int[0];

    /** {@code [generated]} the target's log-probability of each generated token, if asked. */
    public float[] generatedLogprobs = new float[0];

    /** Token events sent so far; the next event's sequence number. */
    public int eventsSent;

    /** Generated tokens already carried by token events. */
    public int tokensSent;

    /** Characters of generated text already carried by token events. */
    public int charsSent;

    public long firstTokenAtMs;

    /** When token events last carried new tokens (for inter-token latency); 0 before the first. */
    public long lastTokenAtMs;

    /**
     * This sequence's speculation counters, the same value a replica keeps for all of its; its
     * budget is the sequence's share of each round's (round budget / batch size).
     */
    public SpeculationStats speculation = new SpeculationStats();

    /** {@link #speculation}, never null (also for state written before the field existed). */
    public SpeculationStats speculation() {
        if (speculation == null) {
            speculation = new SpeculationStats();
        }
        return speculation;
    }

    public SequenceState() {}

    /** Prompt then generated tokens: what the models must have seen. */
    public int[] context() {
        int[] out = Arrays.copyOf(promptTokens, promptTokens.length + generated.length);
        System.arraycopy(generated, 0, out, promptTokens.length, generated.length);
        return out;
    }

    @Override
    public String toString() {
        return "SequenceState{"
                + requestId
                + ", prompt="
                + promptTokens.length
                + ", generated="
                + generated.length
                + ", events="
                + eventsSent
                + "}";
    }
}
