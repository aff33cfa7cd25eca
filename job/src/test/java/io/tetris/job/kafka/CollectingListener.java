package io.tetris.job.kafka;

import io.tetris.schemas.DecodeFailure;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.TokenEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/** Records every callback, for assertions from the test thread. */
public final class CollectingListener implements ResponseListener {

    public final List<TokenEvent> tokens = new CopyOnWriteArrayList<>();
    public final List<GenerationResult> results = new CopyOnWriteArrayList<>();
    public final List<GenerationError> errors = new CopyOnWriteArrayList<>();
    public final List<DecodeFailure> undecodable = new CopyOnWriteArrayList<>();

    @Override
    public void onToken(TokenEvent event) {
        tokens.add(event);
    }

    @Override
    public void onResult(GenerationResult result) {
        results.add(result);
    }

    @Override
    public void onError(GenerationError error) {
        errors.add(error);
    }

    @Override
    public void onUndecodable(String topic, long offset, DecodeFailure failure) {
        undecodable.add(failure);
    }

    List<Integer> seqsOf(String requestId) {
        return tokens.stream()
                .filter(e -> e.getRequestId().equals(requestId))
                .map(TokenEvent::getSeq)
                .toList();
    }

    /** Polls {@code condition} until it holds; fails the test after {@code timeout}. */
    static void eventually(Duration timeout, BooleanSupplier condition, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
