package io.tetris.operators.config;

import io.tetris.core.VerificationMode;
import io.tetris.engine.RequestLimits;
import io.tetris.model.OnnxModelOptions;
import io.tetris.model.OnnxModelOptions.ExecutionProvider;
import io.tetris.policy.LinearStepCostModel;
import io.tetris.policy.PolicyConfig;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

/**
 * The job's settings, read from a Flink {@link Configuration} and validated once: every problem is
 * reported together, each naming the option and what to change.
 *
 * @param models model files and ONNX Runtime settings
 * @param policy the verification budget policy
 * @param costModel the step-cost model dsd and tetris-adaptive plan with
 * @param batch continuous batching limits
 * @param limits request limits applied by validation
 * @param failAtRounds chaos testing: rounds at which the decode loop fails once
 * @param requestIdRetention how long accepted request ids are remembered (zero: not at all)
 * @param answeredIds file of ids answered after the checkpoint a fallback resumed from, or empty
 */
public record TetrisConfig(
        Models models,
        PolicyConfig policy,
        VerificationMode verification,
        io.tetris.policy.StepCostModel costModel,
        Batch batch,
        RequestLimits limits,
        java.util.List<Long> failAtRounds,
        java.time.Duration requestIdRetention,
        String answeredIds)
        implements Serializable {

    /**
     * Model files and runtime. {@code draftTokenizer} equals {@code tokenizer} when not set. {@code
     * checkAtSubmit} is false when the files exist only on the TaskManagers; {@code shippedFolders}
     * ({@code NAME=FOLDER}) are the folders shipped with the job, whose files each TaskManager
     * reads from its copy ({@link io.tetris.operators.TaskModels}).
     */
    public record Models(
            String draft,
            String target,
            String tokenizer,
            String draftTokenizer,
            OnnxModelOptions onnx,
            boolean checkAtSubmit,
            java.util.List<String> shippedFolders)
            implements Serializable {

        public Models {
            shippedFolders = java.util.List.copyOf(shippedFolders);
        }

        public Models(
                String draft,
                String target,
                String tokenizer,
                String draftTokenizer,
                OnnxModelOptions onnx) {
            this(draft, target, tokenizer, draftTokenizer, onnx, true, java.util.List.of());
        }
    }

    /** Per-replica continuous batching. */
    public record Batch(
            int replicas, int maxRunning, int maxWaiting, QueueFull queueFull, int tokenChunk)
            implements Serializable {}

    /** What happens to a request arriving at a full waiting queue. */
    public enum QueueFull {
        WAIT,
        REJECT
    }

    /** Reads and validates; throws {@link IllegalArgumentException} listing every problem. */
    public static TetrisConfig from(Configuration conf) {
        List<String> problems = new ArrayList<>();
        int maxContext = positive(conf, TetrisOptions.MAX_CONTEXT, problems);
        int intra = atLeast(conf, TetrisOptions.INTRA_OP_THREADS, 0, problems);
        int inter = atLeast(conf, TetrisOptions.INTER_OP_THREADS, 0, problems);
        int device = atLeast(conf, TetrisOptions.DEVICE_ID, 0, problems);
        ExecutionProvider provider = ExecutionProvider.buildDefault();
        String providerName = conf.get(TetrisOptions.EXECUTION_PROVIDER);
        if (providerName != null) {
            provider =
                    attempt(
                            () -> ExecutionProvider.parse(providerName),
                            TetrisOptions.EXECUTION_PROVIDER.key(),
                            problems,
                            ExecutionProvider.CPU);
        }
        OnnxModelOptions.KvCacheMode kvCache =
                attempt(
                        () -> OnnxModelOptions.KvCacheMode.parse(conf.get(TetrisOptions.KV_CACHE)),
                        TetrisOptions.KV_CACHE.key(),
                        problems,
                        OnnxModelOptions.KvCacheMode.NATIVE);
        String tokenizer = conf.get(TetrisOptions.TOKENIZER);
        String draftTokenizer = conf.getOptional(TetrisOptions.DRAFT_TOKENIZER).orElse(tokenizer);
        Models models =
                new Models(
                        conf.get(TetrisOptions.DRAFT_MODEL),
                        conf.get(TetrisOptions.TARGET_MODEL),
                        tokenizer,
                        draftTokenizer,
                        new OnnxModelOptions(
                                Math.max(maxContext, 1),
                                intra,
                                inter,
                                provider,
                                device,
                                kvCache,
                                false,
                                conf.get(TetrisOptions.PACK_ROWS)),
                        conf.get(TetrisOptions.MODEL_CHECK_AT_SUBMIT),
                        conf.get(TetrisOptions.MODEL_SHIPPED_FOLDERS));

        PolicyConfig policy =
                attempt(
                        () ->
                                new PolicyConfig(
                                        PolicyConfig.Kind.parse(conf.get(TetrisOptions.POLICY)),
                                        conf.get(TetrisOptions.K),
                                        conf.get(TetrisOptions.EXTRA),
                                        conf.get(TetrisOptions.TETRIS_MIN_BATCH),
                                        conf.get(TetrisOptions.DSD_MAX_K),
                                        conf.get(TetrisOptions.DSD_INITIAL_ACCEPTANCE),
                                        conf.get(TetrisOptions.DSD_SMOOTHING),
                                        conf.get(TetrisOptions.DSD_NO_SPECULATION_BONUS),
                                        conf.get(TetrisOptions.DSD_UPDATE_INTERVAL),
                                        PolicyConfig.Ranking.parse(
                                                conf.get(TetrisOptions.TETRIS_RANKING))),
                        "speculation (tetris.policy, tetris.k, tetris.extra, tetris.tetris.*,"
                                + " tetris.dsd.*)",
                        problems,
                        PolicyConfig.defaults());
        VerificationMode verification =
                attempt(
                        () -> VerificationMode.parse(conf.get(TetrisOptions.VERIFICATION)),
                        TetrisOptions.VERIFICATION.key(),
                        problems,
                        VerificationMode.COUPLED);
        java.util.Optional<String> profileFile = conf.getOptional(TetrisOptions.COST_PROFILE);
        io.tetris.policy.StepCostModel cost =
                attempt(
                        () ->
                                profileFile.isPresent()
                                        ? loadProfile(profileFile.get())
                                        : parseCost(conf.get(TetrisOptions.COST_MODEL)),
                        profileFile.isPresent()
                                ? TetrisOptions.COST_PROFILE.key()
                                : TetrisOptions.COST_MODEL.key(),
                        problems,
                        LinearStepCostModel.DEFAULT);

        QueueFull queueFull = QueueFull.WAIT;
        String queueName = conf.get(TetrisOptions.QUEUE_FULL);
        try {
            queueFull = QueueFull.valueOf(queueName.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            problems.add(
                    TetrisOptions.QUEUE_FULL.key()
                            + ": '"
                            + queueName
                            + "' is not one of wait, reject");
        }
        Batch batch =
                new Batch(
                        positive(conf, TetrisOptions.REPLICAS, problems),
                        positive(conf, TetrisOptions.MAX_RUNNING, problems),
                        atLeast(conf, TetrisOptions.MAX_WAITING, 0, problems),
                        queueFull,
                        positive(conf, TetrisOptions.TOKEN_CHUNK, problems));
        RequestLimits limits =
                new RequestLimits(
                        positive(conf, TetrisOptions.MAX_PAYLOAD_BYTES, problems),
                        positive(conf, TetrisOptions.MAX_NEW_TOKENS, problems),
                        atLeast(conf, TetrisOptions.MAX_STOP_STRINGS, 0, problems),
                        positive(conf, TetrisOptions.MAX_STOP_LENGTH, problems),
                        atLeast(conf, TetrisOptions.MAX_PROMPT_TOKENS, 0, problems),
                        positive(conf, TetrisOptions.MAX_REQUEST_ID_LENGTH, problems));
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(
                    "invalid configuration:\n  - " + String.join("\n  - ", problems));
        }
        java.util.List<Long> failAt =
                conf.get(TetrisOptions.FAIL_AT_ROUNDS).stream().sorted().toList();
        for (long round : failAt) {
            if (round < 1) {
                problems.add(
                        TetrisOptions.FAIL_AT_ROUNDS.key() + " rounds must be >= 1, was " + round);
            }
        }
        java.time.Duration retention = conf.get(TetrisOptions.REQUEST_ID_RETENTION);
        if (retention.isNegative()) {
            problems.add(
                    TetrisOptions.REQUEST_ID_RETENTION.key()
                            + " must be 0 (off) or positive, was "
                            + retention);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(
                    "invalid configuration:\n  - " + String.join("\n  - ", problems));
        }
        return new TetrisConfig(
                models,
                policy,
                verification,
                cost,
                batch,
                limits,
                new java.util.ArrayList<>(failAt),
                retention,
                conf.get(TetrisOptions.ANSWERED_IDS));
    }

    private static io.tetris.policy.StepCostModel loadProfile(String file) {
        try {
            return io.tetris.engine.StepCostProfile.load(java.nio.file.Paths.get(file)).model();
        } catch (java.io.UncheckedIOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static LinearStepCostModel parseCost(String value) {
        String[] parts = value.split(",");
        if (parts.length != 6) {
            throw new IllegalArgumentException(
                    "needs six comma-separated numbers, got " + parts.length);
        }
        double[] c = new double[6];
        for (int i = 0; i < 6; i++) {
            c[i] = Double.parseDouble(parts[i].trim());
        }
        return new LinearStepCostModel(c[0], c[1], c[2], c[3], c[4], c[5]);
    }

    private static int positive(
            Configuration conf, ConfigOption<Integer> option, List<String> problems) {
        return atLeast(conf, option, 1, problems);
    }

    private static int atLeast(
            Configuration conf, ConfigOption<Integer> option, int min, List<String> problems) {
        int value;
        try {
            value = conf.get(option);
        } catch (IllegalArgumentException e) {
            problems.add(option.key() + ": " + e.getMessage());
            return min;
        }
        if (value < min) {
            problems.add(option.key() + " must be >= " + min + ", was " + value);
            return min;
        }
        return value;
    }

    private static <T> T attempt(
            java.util.function.Supplier<T> parse, String label, List<String> problems, T fallback) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            problems.add(label + ": " + e.getMessage());
            return fallback;
        }
    }
}
