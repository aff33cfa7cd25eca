package io.tetris.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.model.BundledModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tetris bulk}: good and bad lines, progress, and resuming an interrupted run. */
class BulkITCase {

    @Test
    void writesOneResultPerGoodLineAndResumesWithoutDuplicates(@TempDir Path dir) throws Exception {
        Path input = dir.resolve("prompts.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            if (i == 4) {
                lines.add("{\"request_id\":\"broken\",\"prompt\":");
            } else if (i == 11) {
                lines.add("{\"request_id\":\"cold\",\"prompt\":\"x\",\"temperature\":-1}");
            } else {
                String sampling = i % 2 == 0 ? "" : ",\"temperature\":0.7,\"seed\":" + i;
                lines.add(
                        "{\"request_id\":\"b"
                                + i
                                + "\",\"prompt\":\"Prompt number "
                                + i
                                + "\",\"max_new_tokens\":6"
                                + sampling
                                + "}");
            }
        }
        Files.write(input, lines);
        Path output = dir.resolve("results.jsonl");

        String stderr = bulk(input, output, false);
        assertThat(stderr).contains("prompts.jsonl:5: MALFORMED_JSON");
        assertThat(stderr).contains("prompts.jsonl:12: INVALID_TEMPERATURE");
        assertThat(stderr).contains("28/28 (100%)").contains("req/s").contains("ETA");
        List<String> first = Files.readAllLines(output);
        assertThat(ids(first)).hasSize(28).doesNotContain("broken", "cold");
        for (String line : first) {
            JsonNode node = new ObjectMapper().readTree(line);
            assertThat(node.get("finish_reason").asText()).isIn("length", "eos");
            assertThat(node.get("usage").get("completion_tokens").asInt())
                    .isEqualTo(node.get("token_ids").size());
            assertThat(node.has("speculation")).isTrue();
        }

        // An interrupted run: ten complete lines and half of the eleventh.
        Path interrupted = dir.resolve("interrupted.jsonl");
        String partial = first.get(10).substring(0, first.get(10).length() / 2);
        Files.writeString(interrupted, String.join("\n", first.subList(0, 10)) + "\n" + partial);
        String resumed = bulk(input, interrupted, true);
        assertThat(resumed).contains("18 request(s) to run").contains("10 already in");
        List<String> after = Files.readAllLines(interrupted);
        assertThat(after).hasSize(28);
        assertThat(ids(after)).hasSize(28);
        // Same prompt and seed, same tokens (speculation counters depend on the batch).
        assertThat(outputs(after)).isEqualTo(outputs(first));
    }

    private static java.util.Map<String, String> outputs(List<String> lines) throws Exception {
        java.util.Map<String, String> out = new java.util.HashMap<>();
        for (String line : lines) {
            JsonNode node = new ObjectMapper().readTree(line);
            out.put(
                    node.get("request_id").asText(),
                    node.get("token_ids") + node.get("text").asText());
        }
        return out;
    }

    private static Set<String> ids(List<String> lines) throws Exception {
        Set<String> ids = new HashSet<>();
        for (String line : lines) {
            ids.add(new ObjectMapper().readTree(line).get("request_id").asText());
        }
        return ids;
    }

    private static String bulk(Path input, Path output, boolean resume) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "bulk",
                                "--models",
                                BundledModels.dir().toString(),
                                "--input",
                                input.toString(),
                                "--output",
                                output.toString()));
        if (resume) {
            args.add("--resume");
        }
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(Main.run(args.toArray(new String[0]))).isZero();
        } finally {
            System.setErr(err);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
