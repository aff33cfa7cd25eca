package io.tetris.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.engine.RequestValidator;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.model.Vocabulary;
import io.tetris.operators.DecodeLoop;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.schemas.DecodeFailure;
import io.tetris.schemas.Decoded;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SpeculationStats;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Offline bulk generation on the same decode loop with a bounded input: a JSON-lines file of
 * requests in, a JSON-lines file of results out, progress on stderr.
 */
@Command(
        name = "bulk",
        mixinStandardHelpOptions = true,
        description = {
            "Offline bulk generation: each input line is a request in the JSON form of the requests"
                    + " topic; writes one JSON line per good request (text, token ids, finish"
                    + " reason, usage, speculation stats), reports bad lines by number and skips"
                    + " them, and shows progress with rate and ETA on stderr."
        })
final class BulkCommand implements Callable<Integer> {

    @Mixin EngineOptions engine;

    @Option(
            names = "--input",
            required = true,
            paramLabel = "FILE",
            description = "JSON lines of requests.")
    Path input;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "FILE",
            description = "JSON lines of results (appended to with --resume).")
    Path output;

    @Option(
            names = "--resume",
            description = "Skip requests whose request_id is already in the output, and append.")
    boolean resume;

    private final ObjectMapper json = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("input file not found: " + input);
        }
        if (Files.exists(output) && !resume) {
            throw new IllegalArgumentException(
                    "output " + output + " exists; pass --resume to continue it, or remove it");
        }
        Configuration conf = engine.configuration();
        TetrisConfig config = TetrisConfig.from(conf);
        Set<String> done = resume ? doneIds() : Set.of();

        List<byte[]> requests = new ArrayList<>();
        int bad = 0;
        int skipped = 0;
        Set<String> seen = new HashSet<>();
        try (HuggingFaceTextTokenizer tokenizer =
                HuggingFaceTextTokenizer.load(Paths.get(config.models().tokenizer()))) {
            RequestValidator validator =
                    new RequestValidator(
                            tokenizer, config.limits(), config.models().onnx().maxContext());
            List<String> lines = Files.readAllLines(input, StandardCharsets.UTF_8);
            for (int n = 1; n <= lines.size(); n++) {
                String line = lines.get(n - 1);
                if (line.isBlank()) {
                    continue;
                }
                byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                Decoded<GenerationRequest> decoded = validator.validate(bytes);
                if (decoded instanceof Decoded.Failed<GenerationRequest> failed) {
                    DecodeFailure f = failed.failure();
                    err.printf(Locale.ROOT, "%s:%d: %s: %s%n", input, n, f.code(), f.reason());
                    bad++;
                } else {
                    String id = decoded.toOptional().orElseThrow().getRequestId();
                    if (!seen.add(id)) {
                        err.printf(
                                Locale.ROOT,
                                "%s:%d: DUPLICATE_REQUEST_ID: %s appears again%n",
                                input,
                                n,
                                id);
                        bad++;
                    } else if (done.contains(id)) {
                        skipped++;
                    } else {
                        requests.add(bytes);
                    }
                }
            }
        }
        err.printf(
                Locale.ROOT,
                "%d request(s) to run, %d bad line(s) skipped, %d already in %s%n",
                requests.size(),
                bad,
                skipped,
                output);
        if (requests.isEmpty()) {
            return 0;
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(config.batch().replicas());
        env.getConfig().enableObjectReuse();
        DecodeLoop.Outputs outputs =
                DecodeLoop.attach(
                        env.fromData(
                                requests, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO),
                        config,
                        Vocabulary.read(Paths.get(config.models().tokenizer())).endOfTextId());
        CloseableIterator<GenerationResult> results = outputs.results().collectAsync();
        JobClient job = env.executeAsync("tetris-bulk");
        Progress progress = new Progress(requests.size(), err);
        try (BufferedWriter out =
                Files.newBufferedWriter(
                        output,
                        StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND)) {
            while (results.hasNext()) {
                out.write(json.writeValueAsString(line(results.next())));
                out.newLine();
                out.flush();
                progress.step();
            }
        } finally {
            results.close();
        }
        job.getJobExecutionResult().get();
        progress.finish();
        err.printf(
                Locale.ROOT,
                "wrote %d result(s) to %s; %d bad line(s) skipped%n",
                progress.done,
                output,
                bad);
        return progress.done == requests.size() ? 0 : 1;
    }

    /**
     * Request ids already in the output. A run killed while writing may leave a partial last line;
     * it is cut off so the appended results start on a line of their own.
     */
    private Set<String> doneIds() throws IOException {
        Set<String> ids = new HashSet<>();
        if (!Files.exists(output)) {
            return ids;
        }
        String content = Files.readString(output, StandardCharsets.UTF_8);
        int complete = content.lastIndexOf('\n') + 1;
        if (complete < content.length()) {
            Files.writeString(output, content.substring(0, complete), StandardCharsets.UTF_8);
            content = content.substring(0, complete);
        }
        int lineNumber = 0;
        for (String line : content.split("\n")) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            try {
                ids.add(json.readTree(line).get("request_id").asText());
            } catch (IOException | NullPointerException e) {
                throw new IllegalArgumentException(
                        output + ":" + lineNumber + " is not a result line; cannot resume from it");
            }
        }
        return ids;
    }

    private ObjectNode line(GenerationResult r) {
        ObjectNode node = json.createObjectNode();
        node.put("request_id", r.getRequestId());
        node.put("text", r.getText());
        ArrayNode tokens = node.putArray("token_ids");
        r.getTokenIds().forEach(tokens::add);
        node.put("finish_reason", r.getFinishReason().toString().toLowerCase(Locale.ROOT));
        node.putObject("usage")
                .put("prompt_tokens", r.getUsage().getPromptTokens())
                .put("completion_tokens", r.getUsage().getCompletionTokens());
        SpeculationStats s = r.getSpeculation();
        node.putObject("speculation")
                .put("rounds", s.getRounds())
                .put("drafts", s.getDrafts())
                .put("draft_tokens", s.getDraftTokens())
                .put("verified_draft_tokens", s.getVerifiedDraftTokens())
                .put("accepted_tokens", s.getAcceptedTokens())
                .put("acceptance_rate", s.getAcceptanceRate())
                .put("mean_acceptance_length", s.getMeanAcceptanceLength());
        node.put("policy", r.getPolicy());
        return node;
    }

    /** A one-line progress bar with rate and ETA. */
    private static final class Progress {
        private final int total;
        private final PrintStream err;
        private final long start = System.nanoTime();
        private int done;
        private long lastDraw;

        Progress(int total, PrintStream err) {
            this.total = total;
            this.err = err;
        }

        void step() {
            done++;
            long now = System.nanoTime();
            if (now - lastDraw > 200_000_000L || done == total) {
                lastDraw = now;
                draw(now);
            }
        }

        void finish() {
            draw(System.nanoTime());
            err.println();
        }

        private void draw(long now) {
            double seconds = (now - start) / 1e9;
            double rate = seconds > 0 ? done / seconds : 0;
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) width * done / total);
            String eta =
                    rate > 0 ? String.format(Locale.ROOT, "%.0fs", (total - done) / rate) : "?";
            err.printf(
                    Locale.ROOT,
                    "\r[%s%s] %d/%d (%d%%) %.1f req/s ETA %s   ",
                    "=".repeat(filled),
                    " ".repeat(width - filled),
                    done,
                    total,
                    total == 0 ? 100 : 100L * done / total,
                    rate,
                    eta);
            err.flush();
        }
    }
}
