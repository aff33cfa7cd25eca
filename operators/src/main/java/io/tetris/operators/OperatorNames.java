package io.tetris.operators;

/**
 * Names and uids of every operator, in one place: uids must never change, or savepoints no longer
 * map onto the job.
 */
public final class OperatorNames {

    private OperatorNames() {}

    public static final String SOURCE = "requests";
    public static final String SOURCE_UID = "tetris-requests-source";
    public static final String VALIDATE = "validate";
    public static final String VALIDATE_UID = "tetris-validate";
    public static final String DEDUPE = "dedupe";
    public static final String DEDUPE_UID = "tetris-dedupe";
    public static final String LOOP = "decode-loop";

    /**
     * The uid of the operator that was the micro-batcher: its keyed state (every sequence) is the
     * loop's, so savepoints of jobs from before the loop became one operator restore into it.
     */
    public static final String LOOP_UID = "tetris-micro-batcher";

    public static final String ERRORS = "errors";
    public static final String ERRORS_UID = "tetris-errors";
    public static final String TOKENS_GUARD = "tokens-size-guard";
    public static final String TOKENS_GUARD_UID = "tetris-tokens-size-guard";
    public static final String RESULTS_GUARD = "results-size-guard";
    public static final String RESULTS_GUARD_UID = "tetris-results-size-guard";
    public static final String ERRORS_GUARD = "errors-size-guard";
    public static final String ERRORS_GUARD_UID = "tetris-errors-size-guard";
    public static final String TOKENS_SINK = "tokens-sink";
    public static final String TOKENS_SINK_UID = "tetris-tokens-sink";
    public static final String RESULTS_SINK = "results-sink";
    public static final String RESULTS_SINK_UID = "tetris-results-sink";
    public static final String ERRORS_SINK = "errors-sink";
    public static final String ERRORS_SINK_UID = "tetris-errors-sink";
}
