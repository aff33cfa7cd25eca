package io.tetris.operators.config;

import io.tetris.policy.LinearStepCostModel;
import io.tetris.policy.PolicyConfig;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Every setting of the job, as typed Flink options with defaults and descriptions. Read them with
 * {@link TetrisConfig#from}, which validates them once.
 */
public final class TetrisOptions {

    private TetrisOptions() {}

    // ----- models -----

    public static final ConfigOption<String> DRAFT_MODEL =
            ConfigOptions.key("tetris.model.draft")
                    .stringType()
                    .defaultValue("models/draft.onnx")
                    .withDescription("ONNX file of the draft model (Optimum decoder export).");

    public static final ConfigOption<String> TARGET_MODEL =
            ConfigOptions.key("tetris.model.target")
                    .stringType()
                    .defaultValue("models/target.onnx")
                    .withDescription("ONNX file of the target model (Optimum decoder export).");

    public static final ConfigOption<String> TOKENIZER =
            ConfigOptions.key("tetris.model.tokenizer")
                    .stringType()
                    .defaultValue("models/tokenizer.json")
                    .withDescription("Hugging Face tokenizer.json of the target model.");

    public static final ConfigOption<String> DRAFT_TOKENIZER =
            ConfigOptions.key("tetris.model.draft-tokenizer")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "tokenizer.json of the draft model, if it ships its own; it must"
                                    + " have exactly the target's vocabulary (checked at start).");

    public static final ConfigOption<Boolean> MODEL_CHECK_AT_SUBMIT =
            ConfigOptions.key("tetris.model.check-at-submit")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Check the model files where the job is built (that they exist and"
                                    + " that draft and target share one vocabulary). Off when"
                                    + " the files exist only on the TaskManagers; every"
                                    + " TaskManager checks that they exist when its tasks start.");

    public static final ConfigOption<java.util.List<String>> MODEL_SHIPPED_FOLDERS =
            ConfigOptions.key("tetris.model.shipped-folders")
                    .stringType()
                    .asList()
                    .defaultValues()
                    .withDescription(
                            "Set by serve --jobmanager: model folders shipped with the job through"
                                    + " Flink's distributed cache, as NAME=FOLDER; a model file"
                                    + " under FOLDER is read from the copy each TaskManager"
                                    + " receives.");

    public static final ConfigOption<Integer> MAX_CONTEXT =
            ConfigOptions.key("tetris.model.max-context")
                    .intType()
                    .defaultValue(512)
                    .withDescription(
                            "Longest sequence (prompt plus generated tokens) both models accept.");

    public static final ConfigOption<Integer> INTRA_OP_THREADS =
            ConfigOptions.key("tetris.model.intra-op-threads")
                    .intType()
                    .defaultValue(1)
                    .withDescription(
                            "ONNX Runtime threads inside one operator, per model; 0 lets ONNX"
                                    + " Runtime choose.");

    public static final ConfigOption<Integer> INTER_OP_THREADS =
            ConfigOptions.key("tetris.model.inter-op-threads")
                    .intType()
                    .defaultValue(1)
                    .withDescription("ONNX Runtime threads across operators, per model.");

    public static final ConfigOption<String> EXECUTION_PROVIDER =
            ConfigOptions.key("tetris.model.execution-provider")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "cpu or cuda; defaults to cuda in a build with the gpu Maven profile,"
                                    + " otherwise cpu.");

    public static final ConfigOption<String> KV_CACHE =
            ConfigOptions.key("tetris.model.kv-cache")
                    .stringType()
                    .defaultValue("native")
                    .withDescription(
                            "Where each model keeps its KV caches between forward passes: native"
                                    + " (resident in ONNX Runtime's memory, on the device with"
                                    + " cuda; only token ids go in and logits come out; the"
                                    + " bundled graphs write new keys and values into the caches"
                                    + " in place, other exports concatenate them onto a copy),"
                                    + " native-concat (resident, but always concatenating: the"
                                    + " general path, for comparison) or heap (copied through the"
                                    + " Java heap every pass; the previous engine, slower, kept as"
                                    + " a reference).");

    public static final ConfigOption<Boolean> PACK_ROWS =
            ConfigOptions.key("tetris.model.pack-rows")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "With native KV caches, multiply each pass's weights by its real tokens"
                                    + " only: a verification pass whose rows verify different"
                                    + " numbers of drafts then costs what its tokens cost, as with"
                                    + " variable-length attention on a GPU, not as if every row"
                                    + " were as long as the longest. false pads every row to the"
                                    + " longest (the earlier engine; for comparison).");

    public static final ConfigOption<Integer> DEVICE_ID =
            ConfigOptions.key("tetris.model.device-id")
                    .intType()
                    .defaultValue(0)
                    .withDescription("CUDA device index for the cuda execution provider.");

    // ----- speculation policy -----

    /** The engine's defaults: the one place each policy default is written. */
    private static final PolicyConfig DEFAULTS = PolicyConfig.defaults();

    public static final ConfigOption<String> POLICY =
            ConfigOptions.key("tetris.policy")
                    .stringType()
                    .defaultValue(DEFAULTS.policy().configName())
                    .withDescription(
                            "Verification budget policy: none (target only), fixed (window k),"
                                    + " dsd (one goodput-optimal k per batch), tetris (draft"
                                    + " k + extra, verify the best k x batch tokens) or"
                                    + " tetris-adaptive (plan a window from per-position"
                                    + " acceptance, draft it plus extra, verify the budget that"
                                    + " maximises expected tokens per predicted second, ranking"
                                    + " tokens by online-calibrated acceptance estimates).");

    public static final ConfigOption<Integer> K =
            ConfigOptions.key("tetris.k")
                    .intType()
                    .defaultValue(DEFAULTS.k())
                    .withDescription(
                            "Draft window: tokens verified per sequence by fixed; the budget is k"
                                    + " x batch for tetris.");

    public static final ConfigOption<Integer> EXTRA =
            ConfigOptions.key("tetris.extra")
                    .intType()
                    .defaultValue(DEFAULTS.extra())
                    .withDescription("Extra draft tokens per sequence drafted by tetris.");

    public static final ConfigOption<Integer> TETRIS_MIN_BATCH =
            ConfigOptions.key("tetris.tetris.min-batch")
                    .intType()
                    .defaultValue(DEFAULTS.tetrisMinBatch())
                    .withDescription("Below this many running sequences tetris acts as fixed.");

    public static final ConfigOption<String> TETRIS_RANKING =
            ConfigOptions.key("tetris.tetris.ranking")
                    .stringType()
                    .defaultValue(DEFAULTS.tetrisRanking().configName())
                    .withDescription(
                            "What tetris ranks draft tokens by: predicted (an online acceptance"
                                    + " predictor over the draft probability, the draft position,"
                                    + " the draft entropy and the request's own recent acceptance)"
                                    + " or draft (the draft model's probability, as in the paper).");

    public static final ConfigOption<Integer> DSD_MAX_K =
            ConfigOptions.key("tetris.dsd.max-k")
                    .intType()
                    .defaultValue(DEFAULTS.dsdMaxK())
                    .withDescription("Largest window dsd considers.");

    public static final ConfigOption<Double> DSD_INITIAL_ACCEPTANCE =
            ConfigOptions.key("tetris.dsd.initial-acceptance")
                    .doubleType()
                    .defaultValue(DEFAULTS.dsdInitialAcceptance())
                    .withDescription("dsd's acceptance-rate estimate before any feedback.");

    public static final ConfigOption<Double> DSD_SMOOTHING =
            ConfigOptions.key("tetris.dsd.smoothing")
                    .doubleType()
                    .defaultValue(DEFAULTS.dsdSmoothing())
                    .withDescription("Weight of the newest round in dsd's moving average.");

    public static final ConfigOption<Double> DSD_NO_SPECULATION_BONUS =
            ConfigOptions.key("tetris.dsd.no-speculation-bonus")
                    .doubleType()
                    .defaultValue(DEFAULTS.dsdNoSpeculationBonus())
                    .withDescription(
                            "Factor favouring no speculation in dsd and tetris-adaptive"
                                    + " (speculation must win by it).");

    public static final ConfigOption<Integer> DSD_UPDATE_INTERVAL =
            ConfigOptions.key("tetris.dsd.update-interval")
                    .intType()
                    .defaultValue(DEFAULTS.dsdUpdateInterval())
                    .withDescription("Rounds between dsd re-plans.");

    public static final ConfigOption<String> VERIFICATION =
            ConfigOptions.key("tetris.sampling.verification")
                    .stringType()
                    .defaultValue("coupled")
                    .withDescription(
                            "How sampled requests are verified: coupled (draft and target share"
                                    + " per-position noise, so a request's tokens depend only on its"
                                    + " prompt and seed, whatever the batch, policy or restore) or"
                                    + " rejection (standard speculative sampling, a little more"
                                    + " acceptance, replays only under the same schedule). Greedy"
                                    + " requests are the same either way.");

    // ----- step cost model (seconds) -----

    public static final ConfigOption<String> COST_MODEL =
            ConfigOptions.key("tetris.cost-model")
                    .stringType()
                    .defaultValue(LinearStepCostModel.DEFAULT.configString())
                    .withDescription(
                            "Linear step-cost model used by dsd, as six comma-separated seconds:"
                                    + " draft fixed, draft per sequence, draft per context token,"
                                    + " verify fixed, verify per new token, verify per context"
                                    + " token.");

    public static final ConfigOption<String> COST_PROFILE =
            ConfigOptions.key("tetris.cost-profile")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "A step-cost profile measured on the serving machine (the"
                                    + " cost-profile.txt that `tetris bench` writes); when set,"
                                    + " dsd and tetris-adaptive plan with its fitted model instead"
                                    + " of tetris.cost-model.");

    // ----- batching -----

    public static final ConfigOption<Integer> REPLICAS =
            ConfigOptions.key("tetris.replicas")
                    .intType()
                    .defaultValue(1)
                    .withDescription(
                            "Verifier replicas (parallelism of the decode loop; one GPU each in"
                                    + " production).");

    public static final ConfigOption<Integer> MAX_RUNNING =
            ConfigOptions.key("tetris.batch.max-running")
                    .intType()
                    .defaultValue(32)
                    .withDescription("Largest running batch per replica (continuous batching).");

    public static final ConfigOption<Integer> MAX_WAITING =
            ConfigOptions.key("tetris.batch.max-waiting")
                    .intType()
                    .defaultValue(1024)
                    .withDescription("Requests that may wait per replica for a batch slot.");

    public static final ConfigOption<String> QUEUE_FULL =
            ConfigOptions.key("tetris.batch.queue-full")
                    .stringType()
                    .defaultValue("wait")
                    .withDescription(
                            "When the waiting queue is full: wait (run rounds before taking more"
                                    + " input, so backpressure reaches Kafka) or reject (answer"
                                    + " with a QUEUE_FULL error).");

    public static final ConfigOption<java.time.Duration> REQUEST_ID_RETENTION =
            ConfigOptions.key("tetris.requests.id-retention")
                    .durationType()
                    .defaultValue(java.time.Duration.ofHours(1))
                    .withDescription(
                            "How long an accepted request_id is remembered: a request reusing it"
                                    + " within this time is answered with DUPLICATE_REQUEST_ID"
                                    + " instead of being executed again, across restarts too."
                                    + " Memory grows with request rate x retention x id length"
                                    + " (about 150 bytes per id plus the id); 0 turns the check"
                                    + " off (ids in flight are still refused).");

    public static final ConfigOption<String> ANSWERED_IDS =
            ConfigOptions.key("tetris.requests.answered-ids")
                    .stringType()
                    .defaultValue("")
                    .withDescription(
                            "Set by serve when it resumes from a checkpoint older than the newest"
                                    + " (a fallback): a file of request ids whose results were"
                                    + " committed after that checkpoint. Their requests, re-read"
                                    + " or restored mid-generation, are dropped instead of being"
                                    + " answered twice. Not meant to be set by hand.");

    public static final ConfigOption<Integer> TOKEN_CHUNK =
            ConfigOptions.key("tetris.tokens.chunk-size")
                    .intType()
                    .defaultValue(4)
                    .withDescription(
                            "Tokens per token event (the last event of a request may hold fewer)."
                                    + " Events are cut by token position, not by round, so a replay"
                                    + " after a restore repeats each (request_id, seq) exactly.");

    // ----- chaos -----

    public static final ConfigOption<java.util.List<Long>> FAIL_AT_ROUNDS =
            ConfigOptions.key("tetris.chaos.fail-at-round")
                    .longType()
                    .asList()
                    .defaultValues()
                    .withDescription(
                            "Chaos testing: the decode loop throws once when its replica"
                                    + " reaches each of these rounds (attempt i fails at the"
                                    + " i-th smallest), so recovery can be watched. Off by"
                                    + " default.");

    // ----- request limits -----

    public static final ConfigOption<Integer> MAX_PAYLOAD_BYTES =
            ConfigOptions.key("tetris.limits.max-payload-bytes")
                    .intType()
                    .defaultValue(1 << 20)
                    .withDescription("Largest request value accepted from Kafka, in bytes.");

    public static final ConfigOption<Integer> MAX_PROMPT_TOKENS =
            ConfigOptions.key("tetris.limits.max-prompt-tokens")
                    .intType()
                    .defaultValue(0)
                    .withDescription(
                            "Longest prompt in tokens; 0 allows any prompt that fits the model"
                                    + " context together with max_new_tokens.");

    public static final ConfigOption<Integer> MAX_NEW_TOKENS =
            ConfigOptions.key("tetris.limits.max-new-tokens")
                    .intType()
                    .defaultValue(4096)
                    .withDescription("Largest max_new_tokens a request may ask for.");

    public static final ConfigOption<Integer> MAX_REQUEST_ID_LENGTH =
            ConfigOptions.key("tetris.limits.max-request-id-length")
                    .intType()
                    .defaultValue(io.tetris.schemas.ErrorRecords.DEFAULT_MAX_REQUEST_ID_LENGTH)
                    .withDescription(
                            "Longest request_id, in characters (UTF-16 code units); a longer one"
                                    + " is refused with REQUEST_ID_TOO_LONG. The id is the Kafka"
                                    + " key of every token event, result and error of the request"
                                    + " and is also inside each of them, so it must stay far below"
                                    + " the sinks' max.request.size (1 MiB by default).");

    public static final ConfigOption<Integer> MAX_STOP_STRINGS =
            ConfigOptions.key("tetris.limits.max-stop-strings")
                    .intType()
                    .defaultValue(8)
                    .withDescription(
                            "Most stop strings per request; more are refused with"
                                    + " TOO_MANY_STOP_STRINGS.");

    public static final ConfigOption<Integer> MAX_STOP_LENGTH =
            ConfigOptions.key("tetris.limits.max-stop-length")
                    .intType()
                    .defaultValue(64)
                    .withDescription(
                            "Longest stop string, in characters; an empty or longer one is"
                                    + " refused with INVALID_STOP_STRING.");
}
