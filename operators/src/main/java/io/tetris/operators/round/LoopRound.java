package io.tetris.operators.round;

import io.tetris.engine.Round;

/**
 * One decode round of one verifier replica as it travels the chained loop: the engine's {@link
 * Round}, whose steps the operators call one each (batcher: plan, draft operator: draft, window
 * operator: allocate, verify operator: verify and apply), plus what only the loop needs.
 *
 * <p>A Flink POJO so it needs no Kryo; inside the chain it is handed on by reference.
 */
public final class LoopRound {

    /** The verifier replica (key of the micro-batcher) this round belongs to. */
    public int replica;

    /** The replica's round counter, restored from state. */
    public long number;

    /** Sequences that finished since the previous round: the models free their caches. */
    public String[] released = new String[0];

    public long startedNanos;

    /** The round itself: its sequences and the slots its steps fill. */
    public Round round = new Round();

    public LoopRound() {}
}
