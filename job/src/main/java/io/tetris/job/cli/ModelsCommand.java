package io.tetris.job.cli;

import io.tetris.model.ModelCheck;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tetris models check DIR}: whether a draft/target pair can serve, before a job tries. */
@Command(
        name = "models",
        mixinStandardHelpOptions = true,
        description = {"Inspect a model pair."},
        subcommands = {
            ModelsCommand.Check.class,
            ModelsCommand.Widen.class,
            ModelsCommand.Passes.class
        })
final class ModelsCommand implements Runnable {

    @Spec private CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "check",
            mixinStandardHelpOptions = true,
            description = {
                "Reads a folder's draft.onnx, target.onnx and tokenizer.json as the job would,"
                        + " prints what the graphs say (layers, KV heads, head size, cache type,"
                        + " vocabulary, context), runs a first pass and a step through each"
                        + " model, and says whether the pair is usable, with the fix when it is"
                        + " not. Exit code 0 when usable, 1 when not."
            })
    static final class Check implements Callable<Integer> {

        @Spec private CommandSpec spec;

        @Mixin PairFolder folder;

        @Mixin ModelsOption models;

        @Option(
                names = "--draft",
                paramLabel = "FILE",
                description = "The draft model, when it is not DIR/draft.onnx.")
        Path draft;

        @Option(
                names = "--target",
                paramLabel = "FILE",
                description = "The target model, when it is not DIR/target.onnx.")
        Path target;

        @Option(
                names = "--tokenizer",
                paramLabel = "FILE",
                description = "The tokenizer, when it is not DIR/tokenizer.json.")
        Path tokenizer;

        @Option(
                names = "--draft-tokenizer",
                paramLabel = "FILE",
                description =
                        "The draft's tokenizer (default: a tokenizer.json beside --draft, else"
                                + " the target's).")
        Path draftTokenizer;

        @Option(
                names = "--max-context",
                paramLabel = "N",
                description =
                        "Tokens per sequence to check for (default: tetris.model.max-context).")
        Integer maxContext;

        @Override
        public Integer call() {
            if (folder.dir != null) {
                models.models = folder.dir;
            }
            Configuration conf = new Configuration();
            boolean filesGiven = draft != null && target != null && tokenizer != null;
            if (folder.dir != null || !filesGiven) {
                models.applyTo(conf);
            } else if (models.kvCache != null) {
                conf.set(TetrisOptions.KV_CACHE, models.kvCache);
            }
            if (draft != null) {
                conf.set(TetrisOptions.DRAFT_MODEL, draft.toString());
                Path beside = draft.resolveSibling("tokenizer.json");
                if (draftTokenizer == null && Files.isRegularFile(beside)) {
                    // Each export's own tokenizer: a draft of another family must show.
                    draftTokenizer = beside;
                }
            }
            if (target != null) {
                conf.set(TetrisOptions.TARGET_MODEL, target.toString());
            }
            if (tokenizer != null) {
                conf.set(TetrisOptions.TOKENIZER, tokenizer.toString());
            }
            if (draftTokenizer != null) {
                conf.set(TetrisOptions.DRAFT_TOKENIZER, draftTokenizer.toString());
            }
            if (maxContext != null) {
                conf.set(TetrisOptions.MAX_CONTEXT, maxContext);
            }
            TetrisConfig.Models m = TetrisConfig.from(conf).models();
            ModelCheck.Report report =
                    ModelCheck.inspect(
                            Path.of(m.draft()),
                            Path.of(m.target()),
                            Path.of(m.draftTokenizer()),
                            Path.of(m.tokenizer()),
                            m.onnx().withThreads(1, 1));
            PrintWriter out = spec.commandLine().getOut();
            out.println("pair: " + (folder.dir != null || !filesGiven ? models.dir() : m.target()));
            WidenedPair.describe(Path.of(m.target())).ifPresent(out::println);
            report.lines().forEach(out::println);
            if (report.usable()) {
                out.println("verdict: usable");
                out.flush();
                return 0;
            }
            out.println("verdict: NOT usable");
            report.problems().forEach(p -> out.println("  - " + p));
            out.flush();
            return 1;
        }
    }

    @Command(
            name = "widen",
            mixinStandardHelpOptions = true,
            description = {
                "Writes a function-preserving widened copy of a pair's target: every hidden unit,"
                        + " attention head and MLP neuron repeated FACTOR times, the weights that"
                        + " read them divided by FACTOR, so the outputs stay the same while the"
                        + " model has about FACTOR² times the parameters and its decode pass is"
                        + " bound by memory like a real LLM's. Knows the bundled byte-level (GPT-style)"
                        + " and Llama-style (RMSNorm, rotary, grouped-query attention, SiLU-gated"
                        + " MLP; fp32 or fp16) exports. Copies the draft, tokenizer and"
                        + " configurations (the target's widened), then checks on reference"
                        + " prompts that the log-probabilities equal the source's within 1e-4"
                        + " (0.05 for fp16 weights) and greedy tokens are equal. Deterministic."
                        + " Exit code 1 when the check fails."
            })
    static final class Widen implements Callable<Integer> {

        @Spec private CommandSpec spec;

        @Parameters(
                index = "0",
                arity = "0..1",
                paramLabel = "SOURCE_DIR",
                description =
                        "The pair to widen (default: the bundled byte-level pair; also"
                                + " models/llama/fp32 or models/llama/fp16).")
        Path source;

        @Option(
                names = "--factor",
                paramLabel = "M",
                defaultValue = "8",
                description =
                        "How many times each unit is repeated (default: ${DEFAULT-VALUE}: 51 M"
                                + " parameters from either bundled pair, 206 MB in fp32).")
        int factor;

        @Option(
                names = "--out",
                paramLabel = "DIR",
                description =
                        "Where the widened pair goes (default: SOURCE_DIR/widened-xM, git-ignored"
                                + " under models/).")
        Path out;

        @Option(
                names = "--check-prompts",
                paramLabel = "N",
                defaultValue = "8",
                description = "Reference prompts checked (default: ${DEFAULT-VALUE}).")
        int checkPrompts;

        @Option(
                names = "--check-tokens",
                paramLabel = "N",
                defaultValue = "32",
                description = "Greedy tokens checked per prompt (default: ${DEFAULT-VALUE}).")
        int checkTokens;

        @Override
        public Integer call() throws Exception {
            PrintWriter log = spec.commandLine().getOut();
            Path from = source != null ? source : ModelsOption.bundledModels();
            Path to = out != null ? out : from.resolve("widened-x" + factor);
            return WidenedPair.write(from, to, factor, checkPrompts, checkTokens, log) ? 0 : 1;
        }
    }

    @Command(
            name = "passes",
            mixinStandardHelpOptions = true,
            description = {
                "Times the target's verification passes for the row shapes a budget policy"
                        + " chooses between at one running batch (plain decoding, fixed k, the"
                        + " same budget ragged as TETRIS spends it, one long row), on a runner"
                        + " that multiplies the weights by the real tokens only"
                        + " (tetris.model.pack-rows, the default) and on one that pads every row"
                        + " to the longest, passes alternating between the two. Prints the"
                        + " median and spread of each, their ratio, and the packed runner's host"
                        + " work per pass (time outside the model's runs)."
            })
    static final class Passes implements Callable<Integer> {

        @Spec private CommandSpec spec;

        @Mixin PairFolder folder;

        @Option(
                names = "--batch",
                defaultValue = "8",
                description = "Sequences per pass (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(
                names = "--k",
                defaultValue = "3",
                description =
                        "Draft tokens per sequence of the budget (default: ${DEFAULT-VALUE}).")
        int k;

        @Option(
                names = "--context",
                defaultValue = "200",
                description = "Cached tokens per sequence (default: ${DEFAULT-VALUE}).")
        int context;

        @Option(
                names = "--repeats",
                defaultValue = "20",
                description = "Timed passes per shape and runner (default: ${DEFAULT-VALUE}).")
        int repeats;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            Path pair = folder.orBundled();
            String target = pair.resolve("target.onnx").toString();
            io.tetris.model.OnnxModelOptions options =
                    io.tetris.model.OnnxModelOptions.defaults(context + 2 * k + 16)
                            .withThreads(1, 1);
            List<io.tetris.measure.PassTimer.Timing> timings;
            try {
                timings =
                        io.tetris.model.DjlRuntime.onLargeStack(
                                "passes",
                                () -> {
                                    try (io.tetris.engine.CachedModel packed =
                                                    io.tetris.engine.CachedModel.load(
                                                            target, options.withPackRows(true));
                                            io.tetris.engine.CachedModel padded =
                                                    io.tetris.engine.CachedModel.load(
                                                            target, options.withPackRows(false))) {
                                        return io.tetris.measure.PassTimer.run(
                                                packed,
                                                padded,
                                                io.tetris.measure.PassTimer.shapes(batch, k),
                                                context,
                                                3,
                                                repeats,
                                                42);
                                    }
                                });
            } catch (RuntimeException e) {
                out.println("error: " + e.getMessage());
                out.flush();
                return 1;
            }
            out.printf(
                    java.util.Locale.ROOT,
                    "%s, batch %d, %d cached tokens per row, %d passes each, one thread:%n",
                    target,
                    batch,
                    context,
                    repeats);
            out.println(
                    "| shape | drafts per row | tokens (padded) | padded ms | packed ms |"
                            + " padded / packed | packed host ms |");
            out.println("|---|---|---:|---:|---:|---:|---:|");
            for (io.tetris.measure.PassTimer.Timing t : timings) {
                out.printf(
                        java.util.Locale.ROOT,
                        "| %s | %s | %d (%d) | %.1f [%.1f–%.1f] | %.1f [%.1f–%.1f] | %.2f |"
                                + " %.2f |%n",
                        t.shape().name(),
                        java.util.Arrays.toString(t.shape().drafts()),
                        t.shape().tokens(),
                        t.shape().paddedTokens(),
                        t.paddedMedian(),
                        java.util.Arrays.stream(t.paddedMs()).min().orElse(0),
                        java.util.Arrays.stream(t.paddedMs()).max().orElse(0),
                        t.packedMedian(),
                        java.util.Arrays.stream(t.packedMs()).min().orElse(0),
                        java.util.Arrays.stream(t.packedMs()).max().orElse(0),
                        t.paddedMedian() / t.packedMedian(),
                        t.packedHostMedian());
            }
            out.flush();
            return 0;
        }
    }
}
