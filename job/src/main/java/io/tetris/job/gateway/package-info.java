/**
 * {@code tetris gateway}: an OpenAI-compatible HTTP front end ({@code POST /v1/completions},
 * streamed or not, and {@code GET /v1/models}) that turns each HTTP request into one request on the
 * requests topic and answers from the token events, results and errors of that request.
 *
 * <p>{@link io.tetris.job.gateway.Gateway} is the server, {@link
 * io.tetris.job.gateway.CompletionRequest} the validated OpenAI request, {@link
 * io.tetris.job.gateway.ApiError} the OpenAI-shaped error with its HTTP status, {@link
 * io.tetris.job.gateway.OpenAiJson} the response bodies.
 */
package io.tetris.job.gateway;
