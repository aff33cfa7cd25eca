package io.tetris.job.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code src/test/node/openai-gateway.mjs}: the official OpenAI npm client, installed by
 * Maven's {@code npm ci} from the committed lock file, against a gateway. Node is required; a
 * missing node or client fails the test with what to do. Public for the process tests, which run
 * the gateway as its own process.
 */
public final class OpenAiNodeClient {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Path DIR = Paths.get("src", "test", "node").toAbsolutePath();

    private final String baseUrl;

    public OpenAiNodeClient(String baseUrl) {
        this.baseUrl = baseUrl;
    }

    /** {@link #run} for callers that cannot throw checked exceptions (futures). */
    public JsonNode runUnchecked(String action, String paramsJson) {
        try {
            return run(action, paramsJson);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The printed JSON of one action ({@code models}, {@code complete}, {@code complete-retrying},
     * {@code stream}, {@code error}).
     */
    public JsonNode run(String action, String paramsJson) throws Exception {
        if (!Files.isRegularFile(DIR.resolve("node_modules/openai/package.json"))) {
            throw new IllegalStateException(
                    "the openai npm package is not installed in "
                            + DIR
                            + ": run `npm ci` there (mvn verify does it before the integration"
                            + " tests)");
        }
        List<String> command =
                new ArrayList<>(List.of("node", "openai-gateway.mjs", baseUrl, action));
        if (paramsJson != null) {
            command.add(paramsJson);
        }
        File stderr = Files.createTempFile("openai-node-", ".err").toFile();
        Process process =
                new ProcessBuilder(command).directory(DIR.toFile()).redirectError(stderr).start();
        process.getOutputStream().close();
        byte[] stdout = process.getInputStream().readAllBytes();
        if (!process.waitFor(180, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("node " + action + " did not finish");
        }
        String errors = Files.readString(stderr.toPath(), StandardCharsets.UTF_8);
        Files.deleteIfExists(stderr.toPath());
        String out = new String(stdout, StandardCharsets.UTF_8).strip();
        if (process.exitValue() != 0) {
            throw new AssertionError(
                    "node " + action + " exited " + process.exitValue() + ": " + errors + out);
        }
        return MAPPER.readTree(out);
    }
}
