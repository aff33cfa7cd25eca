package io.tetris.engine;

import io.tetris.model.TextTokenizer;
import io.tetris.schemas.DecodeFailure;
import io.tetris.schemas.Decoded;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.RequestDecoder;
import io.tetris.schemas.SingleObjectCodec;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides whether the job will serve a request: the codec has checked that the bytes are a
 * well-formed request; this checks what it asks for (ids, prompt, sampling ranges, limits) and
 * tokenizes the prompt, so everything downstream works on token ids.
 */
public final class RequestValidator {

    private final RequestDecoder decoder;
    private final TextTokenizer tokenizer;
    private final RequestLimits limits;
    private final int maxContext;

    public RequestValidator(TextTokenizer tokenizer, RequestLimits limits, int maxContext) {
        this.decoder =
                new RequestDecoder(
                        SingleObjectCodec.of(
                                GenerationRequest.class,
                                limits.maxPayloadBytes(),
                                SingleObjectCodec.released("GenerationRequest")));
        this.tokenizer = tokenizer;
        this.limits = limits;
        this.maxContext = maxContext;
    }

    /**
     * The request with {@code prompt_token_ids} filled from the prompt (a non-empty prompt wins
     * over token ids), or why it is refused.
     */
    public Decoded<GenerationRequest> validate(byte[] value) {
        Decoded<GenerationRequest> decoded = decoder.decode(value);
        if (!(decoded instanceof Decoded.Ok<GenerationRequest> ok)) {
            return decoded;
        }
        GenerationRequest r = ok.value();
        String id = r.getRequestId();
        DecodeFailure problem = check(r);
        if (problem != null) {
            // An id that is blank or too long is not attached: it could not key the error record.
            return Decoded.failed(acceptableId(id) ? problem.withRequestId(id) : problem);
        }
        if (!r.getPrompt().isEmpty()) {
            List<Integer> ids = new ArrayList<>();
            for (int t : tokenizer.encode(r.getPrompt())) {
                ids.add(t);
            }
            r.setPromptTokenIds(ids);
        }
        int promptTokens = r.getPromptTokenIds().size();
        if (limits.maxPromptTokens() > 0 && promptTokens > limits.maxPromptTokens()) {
            return Decoded.failed(
                    new DecodeFailure(
                            ErrorCode.PROMPT_TOO_LONG,
                            "prompt of "
                                    + promptTokens
                                    + " tokens exceeds tetris.limits.max-prompt-tokens = "
                                    + limits.maxPromptTokens(),
                            id));
        }
        if (promptTokens + r.getMaxNewTokens() > maxContext) {
            return Decoded.failed(
                    new DecodeFailure(
                            ErrorCode.PROMPT_TOO_LONG,
                            "prompt of "
                                    + promptTokens
                                    + " tokens plus max_new_tokens "
                                    + r.getMaxNewTokens()
                                    + " exceeds the model context of "
                                    + maxContext,
                            id));
        }
        return Decoded.ok(r);
    }

    private boolean acceptableId(String id) {
        return !id.isBlank() && id.length() <= limits.maxRequestIdLength();
    }

    private DecodeFailure check(GenerationRequest r) {
        String id = r.getRequestId();
        if (id.isBlank()) {
            return new DecodeFailure(ErrorCode.MISSING_REQUEST_ID, "request_id is empty");
        }
        if (id.length() > limits.maxRequestIdLength()) {
            // Checked first: every output record of the request would carry the id twice.
            return new DecodeFailure(
                    ErrorCode.REQUEST_ID_TOO_LONG,
                    "request_id has "
                            + id.length()
                            + " characters, at most "
                            + limits.maxRequestIdLength()
                            + " are allowed (tetris.limits.max-request-id-length); it starts \""
                            + id.substring(0, Math.min(id.length(), 32))
                            + "\"");
        }
        if (r.getPrompt().isEmpty() && r.getPromptTokenIds().isEmpty()) {
            return new DecodeFailure(
                    ErrorCode.EMPTY_PROMPT, "prompt and prompt_token_ids are both empty");
        }
        if (r.getPrompt().isEmpty()) {
            for (int t : r.getPromptTokenIds()) {
                if (t < 0 || t >= tokenizer.vocabSize()) {
                    return new DecodeFailure(
                            ErrorCode.INVALID_TOKEN_ID,
                            "prompt token id "
                                    + t
                                    + " is outside [0, "
                                    + tokenizer.vocabSize()
                                    + ")");
                }
            }
        }
        String control = controlCharacter(r.getPrompt());
        if (control != null) {
            return new DecodeFailure(
                    ErrorCode.CONTROL_CHARACTERS, "prompt contains control character " + control);
        }
        int maxNew = r.getMaxNewTokens();
        if (maxNew < 1 || maxNew > limits.maxNewTokens()) {
            return new DecodeFailure(
                    ErrorCode.INVALID_MAX_NEW_TOKENS,
                    "max_new_tokens must be in [1, " + limits.maxNewTokens() + "], was " + maxNew);
        }
        float temperature = r.getTemperature();
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            return new DecodeFailure(
                    ErrorCode.INVALID_TEMPERATURE,
                    "temperature must be finite and >= 0 (0 = greedy), was " + temperature);
        }
        float topP = r.getTopP();
        if (!(topP > 0 && topP <= 1)) {
            return new DecodeFailure(
                    ErrorCode.INVALID_TOP_P, "top_p must be in (0, 1], was " + topP);
        }
        if (r.getTopK() < 0) {
            return new DecodeFailure(
                    ErrorCode.INVALID_TOP_K, "top_k must be >= 0 (0 = off), was " + r.getTopK());
        }
        double priority = r.getPriority();
        if (!(priority > 0) || Double.isInfinite(priority)) {
            return new DecodeFailure(
                    ErrorCode.INVALID_PRIORITY, "priority must be finite and > 0, was " + priority);
        }
        if (r.getMaxDraftTokens() < -1) {
            return new DecodeFailure(
                    ErrorCode.INVALID_MAX_DRAFT_TOKENS,
                    "max_draft_tokens must be -1 (the policy decides), 0 (no speculation) or a"
                            + " positive cap, was "
                            + r.getMaxDraftTokens());
        }
        if (r.getStop().size() > limits.maxStopStrings()) {
            return new DecodeFailure(
                    ErrorCode.TOO_MANY_STOP_STRINGS,
                    r.getStop().size()
                            + " stop strings, at most "
                            + limits.maxStopStrings()
                            + " (tetris.limits.max-stop-strings)");
        }
        List<String> stops = r.getStop();
        for (int i = 0; i < stops.size(); i++) {
            int length = stops.get(i).length();
            if (length == 0 || length > limits.maxStopLength()) {
                return new DecodeFailure(
                        ErrorCode.INVALID_STOP_STRING,
                        "stop["
                                + i
                                + "] has "
                                + length
                                + " characters; stop strings must have 1 to "
                                + limits.maxStopLength()
                                + " (tetris.limits.max-stop-length)");
            }
        }
        return null;
    }

    /** The first control character other than tab, newline and carriage return, escaped. */
    private static String controlCharacter(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
                return String.format("\\u%04x at index %d", (int) c, i);
            }
        }
        return null;
    }
}
