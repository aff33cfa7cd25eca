package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Greedy speculative decoding with the bundled pair: it must reproduce target-only greedy output
 * exactly, and its acceptance must match what {@code models/README.md} reports.
 */
class SpeculativeDecodingModelTest {

    private static final int MAX_NEW = 64;

    private static OnnxLanguageModel target;
    private static OnnxLanguageModel draft;
    private static GreedySpeculation speculation;
    private static List<int[]> prompts;

    @BeforeAll
    static void load() throws Exception {
        target = BundledModels.load(BundledModels.target());
        draft = BundledModels.load(BundledModels.draft());
        speculation = new GreedySpeculation(draft, target, 256);
        prompts =
                Files.readAllLines(BundledModels.dir().resolve("eval_prompts.txt")).stream()
                        .filter(line -> !line.isEmpty())
                        .map(ByteTokens::of)
                        .toList();
    }

    @AfterAll
    static void close() {
        target.close();
        draft.close();
    }

    @Test
    void speculativeGreedyEqualsTargetOnlyGreedyForEveryWindow() {
        assertThat(prompts).hasSizeGreaterThanOrEqualTo(20);
        GreedySpeculation.Outcome reference = speculation.generate(prompts, 0, MAX_NEW, "plain");
        assertThat(reference.drafted()).isZero();
        for (int k = 1; k <= 6; k++) {
            GreedySpeculation.Outcome speculative =
                    speculation.generate(prompts, k, MAX_NEW, "spec" + k);
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(speculative.generated().get(i))
                        .as("prompt %d, k=%d", i, k)
                        .containsExactly(reference.generated().get(i));
            }
            assertThat(speculative.targetCalls()).isLessThan(reference.targetCalls());
        }
        assertThat(target.sequences()).isZero();
        assertThat(draft.sequences()).isZero();
    }

    @Test
    void acceptanceAtK4StaysInTheReportedBand() throws Exception {
        JsonObject perK;
        try (Reader reader =
                Files.newBufferedReader(
                        BundledModels.dir().resolve("metrics.json"), StandardCharsets.UTF_8)) {
            perK =
                    JsonParser.parseReader(reader)
                            .getAsJsonObject()
                            .getAsJsonObject("speculative_greedy")
                            .getAsJsonObject("per_k");
        }
        double reported = perK.getAsJsonObject("4").get("acceptance").getAsDouble();
        GreedySpeculation.Outcome outcome = speculation.generate(prompts, 4, MAX_NEW, "accept");
        assertThat(outcome.acceptance())
                .as("greedy acceptance at k=4 (models/README.md reports %.4f)", reported)
                .isBetween(reported - 0.05, reported + 0.05);
    }
}
