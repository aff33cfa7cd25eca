package io.tetris.measure;

import io.tetris.engine.Round;
import io.tetris.engine.RoundObserver;
import io.tetris.policy.RoundCost;
import java.util.function.ToIntFunction;

/** Draft tokens verified and accepted per request of a run, for per-request statistics. */
final class RequestCounts implements RoundObserver {

    final long[] verified;
    final long[] accepted;
    private final ToIntFunction<String> index;

    /**
     * @param requests how many requests the run has
     * @param index a request id's index among them
     */
    RequestCounts(int requests, ToIntFunction<String> index) {
        this.verified = new long[requests];
        this.accepted = new long[requests];
        this.index = index;
    }

    @Override
    public void completed(Round round, RoundCost cost) {
        for (int i = 0; i < round.size(); i++) {
            int r = index.applyAsInt(round.sequences[i].id());
            verified[r] += round.outcome.verified()[i];
            accepted[r] += round.outcome.accepted()[i];
        }
    }
}
