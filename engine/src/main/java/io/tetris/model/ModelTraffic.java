package io.tetris.model;

/**
 * What one model moved between the host and the memory it runs in, and where its time went: the
 * runner counts it on every forward pass, so benchmarks and tests can prove where bytes and time go
 * rather than infer it. Mutable counters, owned by one (single-threaded) model.
 */
public final class ModelTraffic {

    /** Bytes written to model inputs from the host: token ids, positions, attention mask. */
    public long tokenBytesIn;

    /** Of {@link #tokenBytesIn}, the attention mask (8 bytes per row and cached column). */
    public long maskBytesIn;

    /** Bytes of logits read back to the Java heap. */
    public long logitBytesOut;

    /** Bytes of KV cache copied between the Java heap and the model, both ways. */
    public long kvBytesCrossed;

    /** Compactions of a resident batch, and the index bytes they and joins sent. */
    public long compactions;

    /** Prefilled sequences put into free rows in place, without a compaction (per pass). */
    public long joins;

    public long compactionIndexBytes;

    /** Runs (model and compaction), and nanoseconds inside them. */
    public long runs;

    public long modelNanos;

    /** Nanoseconds inside the model's extend calls in total (model time plus host work). */
    public long totalNanos;

    /** Host work: time in extend calls outside the runs. */
    public long hostNanos() {
        return totalNanos - modelNanos;
    }

    /** A snapshot, for differences between two points. */
    public ModelTraffic copy() {
        return since(new ModelTraffic());
    }

    /** {@code this - earlier}, counter by counter. */
    public ModelTraffic since(ModelTraffic earlier) {
        ModelTraffic t = new ModelTraffic();
        t.tokenBytesIn = tokenBytesIn - earlier.tokenBytesIn;
        t.maskBytesIn = maskBytesIn - earlier.maskBytesIn;
        t.logitBytesOut = logitBytesOut - earlier.logitBytesOut;
        t.kvBytesCrossed = kvBytesCrossed - earlier.kvBytesCrossed;
        t.compactions = compactions - earlier.compactions;
        t.joins = joins - earlier.joins;
        t.compactionIndexBytes = compactionIndexBytes - earlier.compactionIndexBytes;
        t.runs = runs - earlier.runs;
        t.modelNanos = modelNanos - earlier.modelNanos;
        t.totalNanos = totalNanos - earlier.totalNanos;
        return t;
    }
}
