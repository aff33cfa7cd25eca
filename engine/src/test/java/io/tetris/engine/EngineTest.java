package io.tetris.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.core.SamplingParams;
import io.tetris.core.SpeculationStats;
import io.tetris.core.policy.BudgetPolicy;
import io.tetris.core.policy.LinearStepCostModel;
import io.tetris.core.policy.PolicyConfig;
import io.tetris.core.policy.PolicyConfig.Kind;
import io.tetris.model.BundledModels;
import io.tetris.model.LanguageModel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Flink-free decode round on the bundled models: every policy reproduces target-only greedy
 * output, sampling is reproducible from seeds, and losing every KV cache mid-generation (a restore)
 * changes nothing.
 */
class EngineTest {

    private static final int MAX_NEW = 40;
    private static final int END_OF_TEXT = 256;
    private static final List<String> PROMPTS =
            List.of(
                    "The quick brown fox",
                    "A computer is",
                    "Hello, world",
                    "In the beginning",
                    "There is no such thing as",
                    "Never trust a",
                    "Hacker culture",
                    "Once upon a time");

    private static CachedModel draft;
    private static CachedModel target;

    @BeforeAll
    static void load() {
        draft = new CachedModel(BundledModels.load(BundledModels.draft()));
        target = new CachedModel(BundledModels.load(BundledModels.target()));
    }

    @AfterAll
    static void close() {
        draft.close();
        target.close();
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyPolicyReproducesTargetOnlyGreedyOutput(Kind kind) {
        List<int[]> reference = generate(Kind.NONE, SamplingParams.GREEDY, "ref-" + kind, -1);
        SpeculationStats stats = new SpeculationStats();
        List<int[]> speculative = generate(kind, SamplingParams.GREEDY, "spec-" + kind, -1, stats);
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertThat(speculative.get(i)).as("prompt %d", i).containsExactly(reference.get(i));
        }
        if (kind != Kind.NONE) {
            assertThat(stats.acceptedTokens()).isPositive();
        }
        assertThat(draft.sequences()).isZero();
        assertThat(target.sequences()).isZero();
    }

    @Test
    void tetrisDraftsExtraTokensButVerifiesNoMoreThanKTimesBatch() {
        // Whether this buys a higher verification success rate depends on how well the draft's
        // confidence ranks tokens; that is measured by the benchmark, not asserted here.
        SpeculationStats fixed = new SpeculationStats();
        SpeculationStats tetris = new SpeculationStats();
        generate(Kind.FIXED, SamplingParams.GREEDY, "fixed", -1, fixed);
        generate(Kind.TETRIS, SamplingParams.GREEDY, "tetris", -1, tetris);
        assertThat((double) tetris.verifiedDraftTokens()).isLessThanOrEqualTo(tetris.budget());
        assertThat(tetris.draftTokens()).isGreaterThan(tetris.verifiedDraftTokens());
        assertThat(tetris.draftTokens()).isGreaterThan(fixed.draftTokens());
        assertThat(fixed.verifiedDraftTokens()).isEqualTo(fixed.draftTokens());
    }

    @Test
    void coupledSamplingGivesTheSameTokensUnderEveryPolicy() {
        // The noise is keyed by (seed, position) alone, so what was drafted, how much of it was
        // verified and with whom a sequence was batched cannot change its tokens.
        SamplingParams params = new SamplingParams(0.9, 50, 0.95);
        List<int[]> reference = generate(Kind.NONE, params, "coupled-none", -1);
        for (Kind kind : List.of(Kind.FIXED, Kind.DSD, Kind.TETRIS)) {
            List<int[]> sampled = generate(kind, params, "coupled-" + kind, -1);
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertThat(sampled.get(i))
                        .as("%s prompt %d", kind, i)
                        .containsExactly(reference.get(i));
            }
        }
    }

    @Test
    void samplingIsReproducibleFromTheSeed() {
        SamplingParams params = new SamplingParams(0.8, 40, 0.95);
        List<int[]> first = generate(Kind.TETRIS, params, "seed-a", -1);
        List<int[]> second = generate(Kind.TETRIS, params, "seed-b", -1);
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertThat(second.get(i)).containsExactly(first.get(i));
        }
    }

    @Test
    void losingEveryCacheMidGenerationChangesNothing() {
        SamplingParams params = new SamplingParams(1.0, 0, 1.0);
        List<int[]> uninterrupted = generate(Kind.FIXED, params, "whole", -1);
        List<int[]> restored = generate(Kind.FIXED, params, "restored", 3);
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertThat(restored.get(i)).containsExactly(uninterrupted.get(i));
        }
    }

    @Test
    void promptsArePrefilledApartSoEveryDraftStepFeedsAToken() {
        List<SequenceView> batch = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] prompt = PROMPTS.get(i).getBytes(StandardCharsets.UTF_8);
            int[] tokens = new int[prompt.length];
            for (int j = 0; j < prompt.length; j++) {
                tokens[j] = prompt[j] & 0xFF;
            }
            batch.add(new SequenceView("prefill-" + i, tokens, SamplingParams.GREEDY, 1, 1, 4));
        }
        List<int[]> fed = new ArrayList<>(); // per pass: tokens each extension brought
        LanguageModel model = BundledModels.load(BundledModels.draft());
        LanguageModel recording =
                (LanguageModel)
                        java.lang.reflect.Proxy.newProxyInstance(
                                LanguageModel.class.getClassLoader(),
                                new Class<?>[] {LanguageModel.class},
                                (proxy, method, args) -> {
                                    if (method.getName().equals("next")) {
                                        @SuppressWarnings("unchecked")
                                        List<LanguageModel.Extension> pass =
                                                (List<LanguageModel.Extension>) args[0];
                                        fed.add(
                                                pass.stream()
                                                        .mapToInt(e -> e.tokens().length)
                                                        .toArray());
                                    }
                                    try {
                                        return method.invoke(model, args);
                                    } catch (java.lang.reflect.InvocationTargetException e) {
                                        throw e.getCause();
                                    }
                                });
        try (CachedModel cached = new CachedModel(recording)) {
            // A round that drafts nothing does not prefill the draft model.
            Round none = Round.of(batch);
            none.draft(new Drafter(cached, END_OF_TEXT));
            assertThat(fed).isEmpty();
            Round round = Round.of(batch);
            round.draftLength = 4;
            round.draft(new Drafter(cached, END_OF_TEXT));
            assertThat(round.prefillNanos).isPositive();
            for (int[] tokens : round.drafts.tokens()) {
                assertThat(tokens).hasSize(4);
            }
            // One prefill pass with every prompt but its last token, then four steps of one token.
            assertThat(fed).hasSize(5);
            for (int i = 0; i < batch.size(); i++) {
                assertThat(fed.get(0)[i]).isEqualTo(batch.get(i).tokens().length - 1);
            }
            for (int[] step : fed.subList(1, 5)) {
                assertThat(step).containsOnly(1);
            }
        }
    }

    private static List<int[]> generate(
            Kind kind, SamplingParams params, String prefix, int dropCachesAfterRound) {
        return generate(kind, params, prefix, dropCachesAfterRound, new SpeculationStats());
    }

    /** Runs rounds until every prompt has MAX_NEW tokens or ended with end-of-text. */
    private static List<int[]> generate(
            Kind kind,
            SamplingParams params,
            String prefix,
            int dropCachesAfterRound,
            SpeculationStats stats) {
        PolicyConfig config = PolicyConfig.defaults().withPolicy(kind).withWindow(3, 2);
        CachedModel d = draft;
        CachedModel t = target;
        BudgetPolicy policy = config.create(LinearStepCostModel.DEFAULT);
        Drafter drafter = new Drafter(d, END_OF_TEXT);
        Verifier verifier = new Verifier(t);
        List<List<Integer>> committed = new ArrayList<>();
        List<Integer> promptLength = new ArrayList<>();
        for (String p : PROMPTS) {
            List<Integer> tokens = new ArrayList<>();
            for (byte b : p.getBytes(StandardCharsets.UTF_8)) {
                tokens.add(b & 0xFF);
            }
            committed.add(tokens);
            promptLength.add(tokens.size());
        }
        boolean[] done = new boolean[PROMPTS.size()];
        for (int round = 0; ; round++) {
            List<SequenceView> batch = new ArrayList<>();
            List<Integer> index = new ArrayList<>();
            for (int i = 0; i < PROMPTS.size(); i++) {
                if (done[i]) {
                    continue;
                }
                int[] tokens = committed.get(i).stream().mapToInt(Integer::intValue).toArray();
                int left = MAX_NEW - (tokens.length - promptLength.get(i));
                batch.add(new SequenceView(prefix + i, tokens, params, 1000 + i, 1.0, left - 1));
                index.add(i);
            }
            if (batch.isEmpty()) {
                break;
            }
            Verified verified =
                    Round.of(batch)
                            .plan(policy)
                            .draft(drafter)
                            .allocate(policy)
                            .verify(verifier)
                            .apply(policy, stats)
                            .outcome;
            for (int b = 0; b < batch.size(); b++) {
                int i = index.get(b);
                List<Integer> c = committed.get(i);
                for (int token : verified.emitted()[b]) {
                    c.add(token);
                    if (token == END_OF_TEXT || c.size() - promptLength.get(i) == MAX_NEW) {
                        done[i] = true;
                        d.release(prefix + i);
                        t.release(prefix + i);
                        break;
                    }
                }
            }
            if (round == dropCachesAfterRound) {
                // Same as a restore: fresh models, empty caches, full context next round.
                for (int i = 0; i < PROMPTS.size(); i++) {
                    d.release(prefix + i);
                    t.release(prefix + i);
                }
                policy = config.create(LinearStepCostModel.DEFAULT);
                drafter = new Drafter(d, END_OF_TEXT);
                verifier = new Verifier(t);
            }
        }
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) {
            List<Integer> c = committed.get(i);
            out.add(
                    c.subList(promptLength.get(i), c.size()).stream()
                            .mapToInt(Integer::intValue)
                            .toArray());
        }
        return out;
    }
}
