package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.schemas.GenerationRequest;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CompletionRequestTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final GatewayConfig CONFIG =
            new GatewayConfig("127.0.0.1", 0, "m", Duration.ofSeconds(5), 8, 16, 4096);

    @Test
    void translatesEveryOpenAiFieldToTheRequestTopicsRecord() throws Exception {
        CompletionRequest request =
                parse(
                        "{\"model\": \"m\", \"prompt\": \"Hello\", \"max_tokens\": 32,"
                                + " \"temperature\": 0.7, \"top_p\": 0.9, \"top_k\": 40,"
                                + " \"seed\": 12345678901, \"stop\": [\"\\n\", \"END\"],"
                                + " \"priority\": 2.5, \"max_draft_tokens\": 2, \"stream\": true,"
                                + " \"stream_options\": {\"include_usage\": true},"
                                + " \"user\": \"someone\", \"n\": 1, \"echo\": false,"
                                + " \"logprobs\": null, \"best_of\": 1, \"suffix\": \"\","
                                + " \"presence_penalty\": 0, \"frequency_penalty\": 0.0,"
                                + " \"logit_bias\": {}}");
        assertThat(request.stream()).isTrue();
        assertThat(request.includeUsage()).isTrue();

        GenerationRequest sent = request.toGenerationRequest("id-1", 1234L);
        assertThat(sent.getRequestId()).isEqualTo("id-1");
        assertThat(sent.getPrompt()).isEqualTo("Hello");
        assertThat(sent.getPromptTokenIds()).isEmpty();
        assertThat(sent.getMaxNewTokens()).isEqualTo(32);
        assertThat(sent.getTemperature()).isEqualTo(0.7f);
        assertThat(sent.getTopP()).isEqualTo(0.9f);
        assertThat(sent.getTopK()).isEqualTo(40);
        assertThat(sent.getSeed()).isEqualTo(12345678901L);
        assertThat(sent.getStop()).containsExactly("\n", "END");
        assertThat(sent.getPriority()).isEqualTo(2.5);
        assertThat(sent.getMaxDraftTokens()).isEqualTo(2);
        assertThat(sent.getCreatedAtMs()).isEqualTo(1234L);
    }

    @Test
    void openAiDefaultsApplyWhereTheTopicsDiffer() throws Exception {
        CompletionRequest first = parse("{\"model\": \"m\", \"prompt\": \"Hi\"}");
        CompletionRequest second = parse("{\"model\": \"m\", \"prompt\": \"Hi\", \"seed\": null}");
        assertThat(first.maxTokens()).isEqualTo(CONFIG.defaultMaxTokens());
        assertThat(first.temperature()).isEqualTo(1.0f);
        assertThat(first.topP()).isEqualTo(1.0f);
        assertThat(first.topK()).isZero();
        assertThat(first.priority()).isEqualTo(1.0);
        assertThat(first.maxDraftTokens()).isEqualTo(-1);
        assertThat(first.stop()).isEmpty();
        assertThat(first.stream()).isFalse();
        assertThat(first.includeUsage()).isFalse();
        // Unseeded requests sample differently each time, as on OpenAI.
        assertThat(first.seed()).isNotEqualTo(second.seed());
    }

    @Test
    void acceptsTheOnePromptInEveryOpenAiForm() throws Exception {
        assertThat(parse("{\"model\": \"m\", \"prompt\": [\"Hi\"]}").prompt()).isEqualTo("Hi");
        CompletionRequest ids = parse("{\"model\": \"m\", \"prompt\": [72, 105]}");
        assertThat(ids.prompt()).isNull();
        assertThat(ids.promptTokenIds()).containsExactly(72, 105);
        assertThat(ids.toGenerationRequest("x", 0).getPromptTokenIds()).containsExactly(72, 105);
        assertThat(parse("{\"model\": \"m\", \"prompt\": [[72, 105]]}").promptTokenIds())
                .containsExactly(72, 105);
        assertThat(parse("{\"model\": \"m\", \"prompt\": \"Hi\", \"stop\": \"x\"}").stop())
                .containsExactly("x");
        assertThat(parse("{\"model\": \"m\", \"prompt\": \"Hi\", \"top_k\": -1}").topK()).isZero();
    }

    @Test
    void refusesSeveralPromptsAndMalformedOnes() {
        assertRefused(
                "{\"model\": \"m\", \"prompt\": [\"a\", \"b\"]}",
                "UNSUPPORTED_PARAMETER",
                "prompt");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": [[1], [2]]}", "UNSUPPORTED_PARAMETER", "prompt");
        assertRefused("{\"model\": \"m\", \"prompt\": []}", "INVALID_PARAMETER", "prompt");
        assertRefused("{\"model\": \"m\", \"prompt\": 5}", "INVALID_PARAMETER", "prompt");
        assertRefused("{\"model\": \"m\", \"prompt\": [1.5]}", "INVALID_PARAMETER", "prompt");
        assertRefused("{\"model\": \"m\"}", "INVALID_PARAMETER", "prompt");
        assertRefused("{\"model\": \"m\", \"prompt\": \"\\ud800\"}", "INVALID_UTF8", "prompt");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"stop\": [1]}",
                "INVALID_PARAMETER",
                "stop");
    }

    @Test
    void refusesWhatWouldChangeTheAnswerInWaysTheJobCannot() {
        String[][] cases = {
            {"n", "2"},
            {"best_of", "3"},
            {"logprobs", "1"},
            {"echo", "true"},
            {"suffix", "\"tail\""},
            {"presence_penalty", "0.5"},
            {"frequency_penalty", "1"},
            {"logit_bias", "{\"1\": 5}"}
        };
        for (String[] c : cases) {
            assertRefused(
                    "{\"model\": \"m\", \"prompt\": \"a\", \"" + c[0] + "\": " + c[1] + "}",
                    "UNSUPPORTED_PARAMETER",
                    c[0]);
        }
    }

    @Test
    void refusesWrongTypesNamingTheParameter() {
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"temperature\": \"hot\"}",
                "INVALID_PARAMETER",
                "temperature");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"max_tokens\": 1.5}",
                "INVALID_PARAMETER",
                "max_tokens");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"max_tokens\": 3000000000}",
                "INVALID_PARAMETER",
                "max_tokens");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"seed\": 1e30}",
                "INVALID_PARAMETER",
                "seed");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"stream\": \"yes\"}",
                "INVALID_PARAMETER",
                "stream");
        assertRefused(
                "{\"model\": \"m\", \"prompt\": \"a\", \"stream_options\": {\"include_usage\": true}}",
                "INVALID_PARAMETER",
                "stream_options");
        assertRefused("{\"prompt\": \"a\"}", "INVALID_PARAMETER", "model");
        assertRefused("[1, 2]", "INVALID_JSON", null);
    }

    @Test
    void anotherModelIsNotFound() {
        assertThatThrownBy(() -> parse("{\"model\": \"gpt-4\", \"prompt\": \"a\"}"))
                .isInstanceOfSatisfying(
                        ApiException.class,
                        e -> {
                            assertThat(e.error().status()).isEqualTo(404);
                            assertThat(e.error().code()).isEqualTo("MODEL_NOT_FOUND");
                            assertThat(e.error().message()).contains("gpt-4", "'m'");
                        });
    }

    private static CompletionRequest parse(String json) throws Exception {
        return CompletionRequest.parse(MAPPER.readTree(json), CONFIG);
    }

    private static void assertRefused(String json, String code, String param) {
        assertThatThrownBy(() -> parse(json))
                .as(json)
                .isInstanceOfSatisfying(
                        ApiException.class,
                        e -> {
                            assertThat(e.error().status()).isEqualTo(400);
                            assertThat(e.error().code()).isEqualTo(code);
                            assertThat(e.error().param()).isEqualTo(param);
                        });
    }
}
