package io.tetris.job.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.Usage;
import java.util.Locale;

/** The response bodies of the OpenAI completions and models APIs. */
final class OpenAiJson {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private OpenAiJson() {}

    /** The completion id clients see; the request_id on the topics follows the prefix. */
    static String completionId(String requestId) {
        return "cmpl-" + requestId;
    }

    /**
     * OpenAI's finish reasons: {@code length} when a token limit ended the text (max_tokens or the
     * model's context), {@code stop} when the text ended by itself (a stop string or the end of
     * sequence token). Reasons OpenAI has no word for are passed on in lower case.
     */
    static String finishReason(FinishReason reason) {
        if (reason == null) {
            return null;
        }
        return switch (reason) {
            case LENGTH, CONTEXT_LIMIT -> "length";
            case STOP, EOS -> "stop";
            case ERROR, UNKNOWN -> reason.name().toLowerCase(Locale.ROOT);
        };
    }

    /** A whole completion ({@code "object": "text_completion"}), from the job's result. */
    static ObjectNode completion(
            String requestId, long createdSeconds, String model, GenerationResult result) {
        ObjectNode body = header(requestId, createdSeconds, model);
        body.set("choices", choices(result.getText(), finishReason(result.getFinishReason())));
        body.set("usage", usage(result.getUsage()));
        return body;
    }

    /** One streamed chunk with a text delta; {@code finishReason} only on the last one. */
    static ObjectNode chunk(
            String requestId, long createdSeconds, String model, String text, String finishReason) {
        ObjectNode body = header(requestId, createdSeconds, model);
        body.set("choices", choices(text, finishReason));
        return body;
    }

    /** The extra last chunk of {@code stream_options.include_usage}: no choices, the usage. */
    static ObjectNode usageChunk(String requestId, long createdSeconds, String model, Usage usage) {
        ObjectNode body = header(requestId, createdSeconds, model);
        body.putArray("choices");
        body.set("usage", usage(usage));
        return body;
    }

    /** {@code GET /v1/models/{id}}: the one served model. */
    static ObjectNode model(String name, long createdSeconds) {
        ObjectNode model = JSON.objectNode();
        model.put("id", name);
        model.put("object", "model");
        model.put("created", createdSeconds);
        model.put("owned_by", "tetris");
        return model;
    }

    /** {@code GET /v1/models}. */
    static ObjectNode models(String name, long createdSeconds) {
        ObjectNode list = JSON.objectNode();
        list.put("object", "list");
        list.putArray("data").add(model(name, createdSeconds));
        return list;
    }

    private static ObjectNode header(String requestId, long createdSeconds, String model) {
        ObjectNode body = JSON.objectNode();
        body.put("id", completionId(requestId));
        body.put("object", "text_completion");
        body.put("created", createdSeconds);
        body.put("model", model);
        return body;
    }

    private static ArrayNode choices(String text, String finishReason) {
        ArrayNode choices = JSON.arrayNode();
        ObjectNode choice = choices.addObject();
        choice.put("text", text);
        choice.put("index", 0);
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        return choices;
    }

    private static ObjectNode usage(Usage usage) {
        ObjectNode node = JSON.objectNode();
        node.put("prompt_tokens", usage.getPromptTokens());
        node.put("completion_tokens", usage.getCompletionTokens());
        node.put("total_tokens", usage.getPromptTokens() + usage.getCompletionTokens());
        return node;
    }
}
