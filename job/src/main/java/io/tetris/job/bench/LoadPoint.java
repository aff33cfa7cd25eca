package io.tetris.job.bench;

/**
 * One open-loop run of one policy at one arrival rate.
 *
 * @param sent requests sent
 * @param completed requests that finished
 * @param errors requests answered with an error
 * @param metSlo completed requests within the latency objective
 * @param seconds from the first arrival to the last finish
 * @param outputTokens tokens the completed requests generated
 * @param ttftMs sorted times to first token
 * @param itlMs sorted inter-token latencies (every gap, over every request)
 * @param e2eMs sorted end-to-end latencies
 * @param queueMs sorted times in the job's waiting queue
 * @param job what the job's own latency histograms counted during the run, or null
 */
public record LoadPoint(
        String policy,
        double rate,
        int repeat,
        int sent,
        int completed,
        int errors,
        int metSlo,
        double seconds,
        long outputTokens,
        double[] ttftMs,
        double[] itlMs,
        double[] e2eMs,
        double[] queueMs,
        JobHistograms job) {

    /** Completed requests per second. */
    public double requestsPerSecond() {
        return completed / seconds;
    }

    public double tokensPerSecond() {
        return outputTokens / seconds;
    }

    /** Requests per second that met the objective: the goodput. */
    public double goodput() {
        return metSlo / seconds;
    }

    /** Share of the sent requests that met the objective. */
    public double attainment() {
        return sent == 0 ? 0 : (double) metSlo / sent;
    }

    /** The {@code q}-quantile (nearest rank) of sorted {@code values}; NaN when empty. */
    public static double quantile(double[] values, double q) {
        if (values.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(q * values.length) - 1;
        return values[Math.max(0, Math.min(values.length - 1, rank))];
    }
}
