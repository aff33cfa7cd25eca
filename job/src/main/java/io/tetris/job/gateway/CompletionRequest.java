package io.tetris.job.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.tetris.schemas.GenerationRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * An OpenAI {@code POST /v1/completions} body, checked for shape and translated to a {@link
 * GenerationRequest}. Only what the gateway itself must know is checked here (types, one prompt,
 * parameters this server cannot honour); value ranges are the job's to judge, so a request gets the
 * same error code through the gateway as on the requests topic.
 *
 * <p>OpenAI's defaults apply where they differ from the topic's: temperature 1, {@code max_tokens}
 * the gateway's default (16 unless configured), and a random seed when none is given, so that
 * unseeded sampling differs between calls as OpenAI users expect.
 *
 * @param prompt the prompt text, or {@code null} when the prompt came as token ids
 * @param promptTokenIds the pre-tokenized prompt, empty when the prompt came as text
 * @param topK an extension (vLLM's name): 0 or -1 is off
 * @param priority an extension (vLLM's name): the request's weight under weighted budget policies
 * @param maxDraftTokens an extension: draft tokens per round at most, 0 turns speculation off, -1
 *     (the default) leaves it to the policy
 * @param includeUsage {@code stream_options.include_usage}: a last chunk with the token counts
 */
public record CompletionRequest(
        String model,
        String prompt,
        List<Integer> promptTokenIds,
        int maxTokens,
        float temperature,
        float topP,
        int topK,
        long seed,
        List<String> stop,
        double priority,
        int maxDraftTokens,
        boolean stream,
        boolean includeUsage) {

    public CompletionRequest {
        Objects.requireNonNull(model, "model");
        promptTokenIds = List.copyOf(promptTokenIds);
        stop = List.copyOf(stop);
    }

    /**
     * Reads a request body.
     *
     * @throws ApiException with a 400 for a malformed body or a parameter this server does not
     *     support, a 404 for another model than the served one
     */
    public static CompletionRequest parse(JsonNode body, GatewayConfig config) {
        if (body == null || !body.isObject()) {
            throw bad(ApiError.INVALID_JSON, null, "The request body must be a JSON object.");
        }
        JsonNode model = body.get("model");
        if (model == null || !model.isTextual()) {
            throw bad(ApiError.INVALID_PARAMETER, "model", "'model' is required, a string.");
        }
        if (!model.asText().equals(config.servedModelName())) {
            throw new ApiException(
                    ApiError.modelNotFound(model.asText(), config.servedModelName()));
        }
        rejectUnsupported(body);

        String prompt = null;
        List<Integer> tokenIds = List.of();
        JsonNode promptNode = onePrompt(body.get("prompt"));
        if (promptNode.isTextual()) {
            prompt = requireUtf8(promptNode.asText(), "prompt");
        } else {
            tokenIds = tokenIds(promptNode);
        }

        boolean stream = bool(body, "stream", false);
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = false;
        if (present(streamOptions)) {
            if (!stream) {
                throw bad(
                        ApiError.INVALID_PARAMETER,
                        "stream_options",
                        "'stream_options' is only allowed with \"stream\": true.");
            }
            if (!streamOptions.isObject()) {
                throw bad(
                        ApiError.INVALID_PARAMETER,
                        "stream_options",
                        "'stream_options' must be an object.");
            }
            includeUsage = bool(streamOptions, "include_usage", false);
        }

        int topK = integer(body, "top_k", 0);
        return new CompletionRequest(
                model.asText(),
                prompt,
                tokenIds,
                integer(body, "max_tokens", config.defaultMaxTokens()),
                (float) number(body, "temperature", 1.0),
                (float) number(body, "top_p", 1.0),
                // vLLM spells "off" -1; the job spells it 0.
                topK == -1 ? 0 : topK,
                present(body.get("seed"))
                        ? longInteger(body, "seed")
                        : ThreadLocalRandom.current().nextLong(),
                stops(body.get("stop")),
                number(body, "priority", 1.0),
                integer(body, "max_draft_tokens", -1),
                stream,
                includeUsage);
    }

    /** The request for the requests topic. */
    public GenerationRequest toGenerationRequest(String requestId, long nowMs) {
        return GenerationRequest.newBuilder()
                .setRequestId(requestId)
                .setPrompt(prompt == null ? "" : prompt)
                .setPromptTokenIds(new ArrayList<>(promptTokenIds))
                .setMaxNewTokens(maxTokens)
                .setTemperature(temperature)
                .setTopP(topP)
                .setTopK(topK)
                .setSeed(seed)
                .setStop(new ArrayList<>(stop))
                .setPriority(priority)
                .setMaxDraftTokens(maxDraftTokens)
                .setCreatedAtMs(nowMs)
                .build();
    }

    /**
     * OpenAI parameters that would change the answer in ways the job cannot produce: refused rather
     * than silently ignored, so a client never gets something other than it asked for.
     */
    private static void rejectUnsupported(JsonNode body) {
        requireNeutral(body, "n", v -> isNumber(v, 1), "only n = 1 (one completion) is supported");
        requireNeutral(body, "best_of", v -> isNumber(v, 1), "only best_of = 1 is supported");
        requireNeutral(
                body,
                "logprobs",
                v -> false,
                "logprobs are not supported through the gateway yet (the requests topic has"
                        + " them: \"logprobs\": true)");
        requireNeutral(
                body, "echo", v -> v.isBoolean() && !v.booleanValue(), "echo is not supported");
        requireNeutral(
                body,
                "suffix",
                v -> v.isTextual() && v.asText().isEmpty(),
                "suffix (insertion) is not supported");
        requireNeutral(
                body, "presence_penalty", v -> isNumber(v, 0), "presence_penalty is not supported");
        requireNeutral(
                body,
                "frequency_penalty",
                v -> isNumber(v, 0),
                "frequency_penalty is not supported");
        requireNeutral(
                body,
                "logit_bias",
                v -> v.isObject() && v.isEmpty(),
                "logit_bias is not supported");
    }

    /** Fails unless {@code field} is absent, null or a value that changes nothing. */
    private static void requireNeutral(
            JsonNode body, String field, Predicate<JsonNode> neutral, String why) {
        JsonNode value = body.get(field);
        if (present(value) && !neutral.test(value)) {
            throw bad(ApiError.UNSUPPORTED_PARAMETER, field, why + ".");
        }
    }

    private static boolean isNumber(JsonNode value, double expected) {
        return value.isNumber() && value.doubleValue() == expected;
    }

    /** The one prompt of {@code prompt}: a string, token ids, or a list holding one of those. */
    private static JsonNode onePrompt(JsonNode prompt) {
        if (!present(prompt)) {
            throw bad(ApiError.INVALID_PARAMETER, "prompt", "'prompt' is required.");
        }
        if (prompt.isTextual()) {
            return prompt;
        }
        if (!prompt.isArray()) {
            throw bad(
                    ApiError.INVALID_PARAMETER,
                    "prompt",
                    "'prompt' must be a string, a list of token ids, or a list with one of those.");
        }
        if (prompt.isEmpty()) {
            throw bad(ApiError.INVALID_PARAMETER, "prompt", "'prompt' is an empty list.");
        }
        JsonNode first = prompt.get(0);
        if (first.isTextual() || first.isArray()) {
            if (prompt.size() > 1) {
                throw bad(
                        ApiError.UNSUPPORTED_PARAMETER,
                        "prompt",
                        "'prompt' holds "
                                + prompt.size()
                                + " prompts; this server takes one prompt per request.");
            }
            return first;
        }
        return prompt;
    }

    private static List<Integer> tokenIds(JsonNode ids) {
        if (!ids.isArray() || ids.isEmpty()) {
            throw bad(
                    ApiError.INVALID_PARAMETER,
                    "prompt",
                    "'prompt' must be a string or a non-empty list of token ids.");
        }
        List<Integer> tokens = new ArrayList<>(ids.size());
        for (JsonNode id : ids) {
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw bad(
                        ApiError.INVALID_PARAMETER,
                        "prompt",
                        "token ids in 'prompt' must be integers, got " + id);
            }
            tokens.add(id.intValue());
        }
        return tokens;
    }

    private static List<String> stops(JsonNode stop) {
        if (!present(stop)) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(requireUtf8(stop.asText(), "stop"));
        }
        if (!stop.isArray()) {
            throw bad(
                    ApiError.INVALID_PARAMETER,
                    "stop",
                    "'stop' must be a string or a list of strings.");
        }
        List<String> stops = new ArrayList<>();
        for (JsonNode one : stop) {
            if (!one.isTextual()) {
                throw bad(
                        ApiError.INVALID_PARAMETER,
                        "stop",
                        "'stop' must be a string or a list of strings, got " + one);
            }
            stops.add(requireUtf8(one.asText(), "stop"));
        }
        return stops;
    }

    /**
     * JSON escapes can spell an unpaired surrogate, which has no UTF-8 form: the job would see '?'
     * instead, so it is refused here with the job's code for the same fault.
     */
    private static String requireUtf8(String text, String field) {
        if (!StandardCharsets.UTF_8.newEncoder().canEncode(text)) {
            throw bad(
                    "INVALID_UTF8",
                    field,
                    "'"
                            + field
                            + "' contains an unpaired UTF-16 surrogate, which has no UTF-8 form.");
        }
        return text;
    }

    private static boolean present(JsonNode node) {
        return node != null && !node.isNull() && !node.isMissingNode();
    }

    private static boolean bool(JsonNode body, String field, boolean absent) {
        JsonNode value = body.get(field);
        if (!present(value)) {
            return absent;
        }
        if (!value.isBoolean()) {
            throw bad(ApiError.INVALID_PARAMETER, field, "'" + field + "' must be true or false.");
        }
        return value.booleanValue();
    }

    private static double number(JsonNode body, String field, double absent) {
        JsonNode value = body.get(field);
        if (!present(value)) {
            return absent;
        }
        if (!value.isNumber()) {
            throw bad(ApiError.INVALID_PARAMETER, field, "'" + field + "' must be a number.");
        }
        return value.doubleValue();
    }

    private static int integer(JsonNode body, String field, int absent) {
        JsonNode value = body.get(field);
        if (!present(value)) {
            return absent;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw bad(
                    ApiError.INVALID_PARAMETER,
                    field,
                    "'" + field + "' must be an integer (32 bits), got " + value);
        }
        return value.intValue();
    }

    private static long longInteger(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw bad(
                    ApiError.INVALID_PARAMETER,
                    field,
                    "'" + field + "' must be an integer (64 bits), got " + value);
        }
        return value.longValue();
    }

    private static ApiException bad(String code, String param, String message) {
        return new ApiException(ApiError.badRequest(code, param, message));
    }
}
