package io.tetris.job.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SpeculationStats;
import io.tetris.schemas.Timings;
import io.tetris.schemas.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiJsonTest {

    @Test
    void tokenLimitsAreLengthAndNaturalEndsAreStop() {
        assertThat(OpenAiJson.finishReason(FinishReason.LENGTH)).isEqualTo("length");
        assertThat(OpenAiJson.finishReason(FinishReason.CONTEXT_LIMIT)).isEqualTo("length");
        assertThat(OpenAiJson.finishReason(FinishReason.STOP)).isEqualTo("stop");
        assertThat(OpenAiJson.finishReason(FinishReason.EOS)).isEqualTo("stop");
        assertThat(OpenAiJson.finishReason(FinishReason.ERROR)).isEqualTo("error");
        assertThat(OpenAiJson.finishReason(null)).isNull();
    }

    @Test
    void aWholeCompletionCarriesTheResultsTextAndUsage() {
        GenerationResult result =
                GenerationResult.newBuilder()
                        .setRequestId("r1")
                        .setText("hello")
                        .setTokenIds(List.of(1, 2, 3))
                        .setFinishReason(FinishReason.EOS)
                        .setUsage(
                                Usage.newBuilder()
                                        .setPromptTokens(4)
                                        .setCompletionTokens(3)
                                        .build())
                        .setSpeculation(SpeculationStats.newBuilder().build())
                        .setTimings(Timings.newBuilder().build())
                        .build();
        JsonNode body = OpenAiJson.completion("r1", 99, "m", result);
        assertThat(body.get("id").asText()).isEqualTo("cmpl-r1");
        assertThat(body.get("object").asText()).isEqualTo("text_completion");
        assertThat(body.get("created").asLong()).isEqualTo(99);
        assertThat(body.get("model").asText()).isEqualTo("m");
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("text").asText()).isEqualTo("hello");
        assertThat(choice.get("index").asInt()).isZero();
        assertThat(choice.get("logprobs").isNull()).isTrue();
        assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(4);
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(3);
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(7);
    }

    @Test
    void chunksCarryADeltaAndTheUsageChunkNoChoices() {
        JsonNode chunk = OpenAiJson.chunk("r1", 1, "m", "lo", null);
        assertThat(chunk.get("choices").get(0).get("text").asText()).isEqualTo("lo");
        assertThat(chunk.get("choices").get(0).get("finish_reason").isNull()).isTrue();
        JsonNode usage =
                OpenAiJson.usageChunk(
                        "r1",
                        1,
                        "m",
                        Usage.newBuilder().setPromptTokens(2).setCompletionTokens(5).build());
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(7);
    }

    @Test
    void modelsListsTheOneServedModel() {
        JsonNode list = OpenAiJson.models("m", 5);
        assertThat(list.get("object").asText()).isEqualTo("list");
        assertThat(list.get("data")).hasSize(1);
        assertThat(list.get("data").get(0).get("id").asText()).isEqualTo("m");
        assertThat(list.get("data").get(0).get("owned_by").asText()).isEqualTo("tetris");
    }
}
