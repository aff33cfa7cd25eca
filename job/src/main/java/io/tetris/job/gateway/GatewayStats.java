package io.tetris.job.gateway;

/**
 * How the gateway's HTTP requests ended so far, and how many are still in flight.
 *
 * @param completed answered with a completion (whole or fully streamed)
 * @param failed answered with an error (refused by the gateway or the job, Kafka unreachable)
 * @param timedOut given up after the request timeout (504)
 * @param disconnected abandoned because the client closed the connection first
 * @param inFlight waiting for the job now
 */
public record GatewayStats(
        long completed, long failed, long timedOut, long disconnected, int inFlight) {}
