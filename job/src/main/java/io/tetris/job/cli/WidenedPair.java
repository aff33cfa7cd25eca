package io.tetris.job.cli;

import ai.onnx.proto.OnnxMl;
import io.tetris.model.DecoderSignature;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.model.widen.TargetWidener;
import io.tetris.model.widen.WidenCheck;
import io.tetris.model.widen.WidenedConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A pair whose target is a widened copy ({@link TargetWidener}): writing one, and telling one. */
final class WidenedPair {

    private static final List<String> FALLBACK_PROMPTS =
            List.of(
                    "The quick brown fox",
                    "Once upon a time",
                    "In the beginning",
                    "The package provides",
                    "This program is free software",
                    "To install it, run",
                    "Hello, world",
                    "The following options are");

    private WidenedPair() {}

    /** Widens {@code from}'s target into {@code to} with the rest of the pair; checks it. */
    static boolean write(Path from, Path to, int factor, int prompts, int tokens, PrintWriter log)
            throws IOException, ai.onnxruntime.OrtException {
        Path target = from.resolve("target.onnx");
        if (!Files.isRegularFile(target)) {
            throw new IllegalArgumentException("no target.onnx in " + from);
        }
        log.println("Widening " + target + " by " + factor + " into " + to);
        log.flush();
        Files.createDirectories(to);
        long start = System.nanoTime();
        TargetWidener.Widened widened =
                TargetWidener.widen(
                        target,
                        to.resolve("target.onnx"),
                        factor,
                        line -> {
                            log.println("  " + line);
                            log.flush();
                        });
        for (String change : WidenedConfig.write(from, to, factor, widened)) {
            log.println("  " + change);
        }
        for (String file :
                List.of(
                        "draft.onnx",
                        "draft.onnx.data",
                        "config_draft.json",
                        "tokenizer.json",
                        "tokenizer_config.json",
                        "eval_prompts.txt",
                        "bench_prompts.txt",
                        "bench_prompts_easy.txt")) {
            if (Files.isRegularFile(from.resolve(file))) {
                Files.copy(
                        from.resolve(file), to.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                log.println("  copied " + file);
            }
        }
        log.printf(
                "  %,d parameters (source %,d) in %.1f s%n",
                widened.parameters(),
                widened.sourceParameters(),
                (System.nanoTime() - start) / 1e9);
        log.println(
                "Checking: "
                        + prompts
                        + " reference prompts, "
                        + tokens
                        + " greedy tokens each, every next-token distribution compared");
        log.flush();
        List<int[]> ids = new ArrayList<>();
        try (HuggingFaceTextTokenizer tokenizer =
                HuggingFaceTextTokenizer.load(from.resolve("tokenizer.json"))) {
            for (String prompt : referencePrompts(from, prompts)) {
                ids.add(tokenizer.encode(prompt));
            }
        }
        WidenCheck.Result check =
                WidenCheck.compare(target, to.resolve("target.onnx"), ids, tokens);
        double tolerance = WidenCheck.tolerance(widened.fp16());
        log.printf(
                "  %d steps: max |delta log p| = %.2e (tolerance %.0e%s), greedy differs at %d%n",
                check.steps(),
                check.maxLogProbDelta(),
                tolerance,
                widened.fp16() ? ", fp16 weights" : "",
                check.greedyDifferences());
        boolean ok = check.holds(tolerance);
        log.println(
                ok
                        ? "Done: "
                                + to
                                + " is the pair with the widened target (--models "
                                + to
                                + ")"
                        : "FAILED: the widened target does not compute the source's function; do"
                                + " not use "
                                + to);
        log.flush();
        return ok;
    }

    /** The source's eval_prompts.txt, else a built-in list; the first {@code count}. */
    private static List<String> referencePrompts(Path from, int count) throws IOException {
        Path file = from.resolve("eval_prompts.txt");
        List<String> all =
                Files.isRegularFile(file)
                        ? Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList()
                        : FALLBACK_PROMPTS;
        return all.subList(0, Math.min(count, all.size()));
    }

    /** "target: widened x8 from ..." when {@code target} was written by {@link #write}. */
    static Optional<String> describe(Path target) {
        Map<String, String> meta = new HashMap<>();
        try {
            if (Files.size(target) > (1L << 30)) {
                return Optional.empty(); // not one that widening wrote: those keep weights apart
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        try {
            for (OnnxMl.StringStringEntryProto e :
                    DecoderSignature.parse(target).getMetadataPropsList()) {
                meta.put(e.getKey(), e.getValue());
            }
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        String factor = meta.get(TargetWidener.FACTOR_KEY);
        return factor == null
                ? Optional.empty()
                : Optional.of(
                        "target: widened x"
                                + factor
                                + " from "
                                + meta.get(TargetWidener.SOURCE_KEY)
                                + " (same outputs, memory-bound like a real LLM)");
    }
}
