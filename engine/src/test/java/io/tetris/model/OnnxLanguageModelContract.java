package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tetris.model.LanguageModel.Extension;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What {@link OnnxLanguageModel} must do on the bundled models in every KV cache mode: the
 * committed reference logits, and the KV cache invariants (incremental = recompute, padded batch =
 * one by one, rollback). {@link NativeKvModelTest}, {@link NativeConcatKvModelTest} and {@link
 * HeapKvModelTest} run it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OnnxLanguageModelContract {

    OnnxLanguageModel target;
    OnnxLanguageModel draft;

    abstract OnnxModelOptions.KvCacheMode mode();

    /** The pair's folder: the bundled byte-level pair unless a subclass runs another. */
    java.nio.file.Path dir() {
        return BundledModels.dir();
    }

    /** Largest difference allowed against the reference and between equivalent runs. */
    double tolerance() {
        return 1e-4;
    }

    static OnnxLanguageModel load(java.nio.file.Path file, OnnxModelOptions.KvCacheMode mode) {
        return OnnxLanguageModel.load(
                file,
                OnnxModelOptions.defaults(BundledModels.CONTEXT)
                        .withThreads(1, 1)
                        .withKvCache(mode));
    }

    @BeforeAll
    void load() {
        target = load(dir().resolve("target.onnx"), mode());
        draft = load(dir().resolve("draft.onnx"), mode());
    }

    @AfterAll
    void close() {
        target.close();
        draft.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"target", "draft"})
    void reproducesTheCommittedReferenceLogits(String name) throws Exception {
        OnnxLanguageModel model = name.equals("target") ? target : draft;
        JsonObject reference;
        try (Reader reader =
                Files.newBufferedReader(
                        dir().resolve("reference_logits.json"), StandardCharsets.UTF_8)) {
            reference = JsonParser.parseReader(reader).getAsJsonObject();
        }
        JsonObject spec = reference.getAsJsonObject("models").getAsJsonObject(name);
        assertThat(model.signature().layers()).isEqualTo(spec.get("layers").getAsInt());
        assertThat(model.signature().kvHeads()).isEqualTo(spec.get("heads").getAsInt());
        assertThat(model.signature().headDim()).isEqualTo(spec.get("head_dim").getAsInt());
        assertThat(model.vocabSize()).isEqualTo(reference.get("vocab_size").getAsInt());

        String sequencePrefix = "reference-" + name + "-";
        int compared = 0;
        int positions = 0;
        int flipped = 0;
        for (JsonElement element : spec.getAsJsonArray("cases")) {
            JsonObject c = element.getAsJsonObject();
            JsonObject inputs = c.getAsJsonObject("inputs");
            int[][] ids = ints2(inputs.getAsJsonArray("input_ids"));
            int[][] mask = ints2(inputs.getAsJsonArray("attention_mask"));
            String from =
                    c.has("past_from")
                            ? c.get("past_from").getAsString()
                            : c.get("name").getAsString();
            List<Extension> batch = new ArrayList<>();
            for (int b = 0; b < ids.length; b++) {
                batch.add(
                        new Extension(sequencePrefix + from + "-" + b, unpadded(ids[b], mask[b])));
            }
            assertThat(model.cachedLength(batch.get(0).sequenceId()))
                    .isEqualTo(inputs.get("past_sequence_length").getAsInt());
            float[][][] logits = model.extend(batch); // log-probabilities
            JsonArray last = c.getAsJsonArray("last_logits");
            for (int b = 0; b < ids.length; b++) {
                float[] expected = floats(last.get(b).getAsJsonArray());
                float[][] rows = logits[b];
                assertClose(
                        rows[rows.length - 1], io.tetris.core.LogitsTransform.logSoftmax(expected));
                compared++;
            }
            JsonArray argmax = c.getAsJsonArray("argmax");
            for (int b = 0; b < ids.length; b++) {
                int[] expected = ints(argmax.get(b).getAsJsonArray());
                int padding = expected.length - logits[b].length;
                for (int j = 0; j < logits[b].length; j++) {
                    positions++;
                    int ours = io.tetris.core.LogitsTransform.argmax(logits[b][j]);
                    int theirs = expected[padding + j];
                    if (ours != theirs) {
                        flipped++;
                        // Only a near tie may fall the other way: the reference's choice is within
                        // the tolerance of ours in our own row.
                        assertThat((double) logits[b][j][ours] - logits[b][j][theirs])
                                .as("%s case %s row %d position %d", name, from, b, j)
                                .isLessThanOrEqualTo(tolerance());
                    }
                }
            }
        }
        assertThat(compared).isGreaterThanOrEqualTo(4);
        // Where the reference's two best tokens are closer than the tolerance, a reduced precision
        // may pick the other one; at full precision every argmax must match.
        assertThat(flipped)
                .as("argmax differing from the reference at %d positions", positions)
                .isLessThanOrEqualTo(tolerance() > 1e-3 ? positions / 20 : 0);
    }

    @Test
    void extendingWithTheCacheEqualsRecomputingFromScratch() {
        int[] prompt = ByteTokens.of("The quick brown fox jumps over the lazy dog");
        float[][] whole = target.extend(List.of(new Extension("whole", prompt)))[0];
        List<float[]> pieces = new ArrayList<>();
        int[] cuts = {0, 10, 11, 25, prompt.length};
        for (int i = 0; i + 1 < cuts.length; i++) {
            int[] part = Arrays.copyOfRange(prompt, cuts[i], cuts[i + 1]);
            pieces.addAll(List.of(target.extend(List.of(new Extension("pieces", part)))[0]));
        }
        assertThat(target.cachedLength("pieces")).isEqualTo(prompt.length);
        assertRowsClose(pieces.toArray(new float[0][]), whole);
        target.release("whole");
        target.release("pieces");
    }

    @Test
    void returnsOnlyTheLastPositionsAsked() {
        int[] prompt = ByteTokens.of("Only the last positions");
        float[][] all = target.extend(List.of(new Extension("all", prompt)))[0];
        float[][] last2 = target.extend(List.of(new Extension("last2", prompt, 2)))[0];
        assertThat(last2).hasNumberOfRows(2);
        assertRowsClose(last2, Arrays.copyOfRange(all, prompt.length - 2, prompt.length));
        assertThat(target.cachedLength("last2")).isEqualTo(prompt.length);
        target.release("all");
        target.release("last2");
    }

    @Test
    void greedyExtensionsComeBackReducedToTheArgmaxOfTheFullRows() {
        int[] prompt = ByteTokens.of("Greedy rows need two numbers");
        NextTokens[] next =
                target.next(
                        List.of(
                                new Extension("full", prompt, 3, false),
                                new Extension("greedy", prompt, 3, true)));
        NextTokens full = next[0];
        NextTokens greedy = next[1];
        assertThat(full.reduced()).isFalse();
        assertThat(greedy.reduced()).isTrue();
        assertThat(greedy.positions()).isEqualTo(3);
        for (int j = 0; j < 3; j++) {
            int argmax = io.tetris.core.LogitsTransform.argmax(full.logProbs()[j]);
            assertThat(full.argmax()[j]).isEqualTo(argmax);
            assertThat(greedy.argmax()[j]).isEqualTo(argmax);
            assertThat((double) greedy.argmaxLogProb()[j])
                    .isCloseTo(full.logProbs()[j][argmax], within(1e-4))
                    .isNegative();
        }
        assertThatThrownBy(() -> target.extend(List.of(new Extension("x", prompt, 1, true))))
                .hasMessageContaining("next()");
        target.release("full");
        target.release("greedy");
        target.release("x");
    }

    @Test
    void aPaddedRaggedBatchEqualsTheSequencesRunOneByOne() {
        String[] prompts = {"Hello", "A computer is a machine that", "xyzzy", "To be"};
        int[][] steps = {
            ByteTokens.of(" world"),
            ByteTokens.of("."),
            ByteTokens.of(" plugh and more"),
            ByteTokens.of(" or")
        };
        // Give the sequences different cached lengths first.
        for (int i = 0; i < prompts.length; i++) {
            target.extend(List.of(new Extension("single-" + i, ByteTokens.of(prompts[i]))));
        }
        List<Extension> batchPrefill = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            batchPrefill.add(new Extension("batch-" + i, ByteTokens.of(prompts[i])));
        }
        target.extend(batchPrefill);

        List<Extension> batchStep = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            batchStep.add(new Extension("batch-" + i, steps[i]));
        }
        batchStep.add(new Extension("batch-empty", new int[0]));
        float[][][] together = target.extend(batchStep);
        assertThat(together[prompts.length]).isEmpty();
        for (int i = 0; i < prompts.length; i++) {
            float[][] alone = target.extend(List.of(new Extension("single-" + i, steps[i])))[0];
            assertRowsClose(together[i], alone);
            assertThat(target.cachedLength("batch-" + i))
                    .isEqualTo(prompts[i].length() + steps[i].length);
            target.release("single-" + i);
            target.release("batch-" + i);
        }
    }

    @Test
    void truncateThenExtendEqualsNeverHavingExtended() {
        int[] prompt = ByteTokens.of("Speculative decoding is");
        draft.extend(List.of(new Extension("rolled-back", prompt)));
        draft.extend(List.of(new Extension("rolled-back", ByteTokens.of(" wrong guess"))));
        draft.truncate("rolled-back", prompt.length);
        assertThat(draft.cachedLength("rolled-back")).isEqualTo(prompt.length);
        float[][] afterRollback =
                draft.extend(List.of(new Extension("rolled-back", ByteTokens.of(" fast"))))[0];

        draft.extend(List.of(new Extension("straight", prompt)));
        float[][] straight =
                draft.extend(List.of(new Extension("straight", ByteTokens.of(" fast"))))[0];
        assertRowsClose(afterRollback, straight);
        draft.release("rolled-back");
        draft.release("straight");
        assertThat(draft.sequences()).isZero();
    }

    @Test
    void returnsNormalisedLogProbabilities() {
        float[][] rows = draft.extend(List.of(new Extension("norm", ByteTokens.of("abc"))))[0];
        for (float[] row : rows) {
            double total = 0;
            for (float lp : row) {
                total += Math.exp(lp);
            }
            assertThat(total).isBetween(1 - 1e-4, 1 + 1e-4);
        }
        draft.release("norm");
    }

    @Test
    void loadsFromAThreadWithASmallStack() throws Exception {
        // Session creation overflows small native stacks (SIGSEGV, no exception); Flink task
        // threads have 1 MiB stacks, so loading must not depend on the caller's stack.
        java.util.concurrent.atomic.AtomicReference<Integer> vocab =
                new java.util.concurrent.atomic.AtomicReference<>();
        Thread small =
                new Thread(
                        null,
                        () -> {
                            try (OnnxLanguageModel m = load(dir().resolve("draft.onnx"), mode())) {
                                vocab.set(m.vocabSize());
                            }
                        },
                        "small-stack",
                        256 * 1024);
        small.start();
        small.join();
        assertThat(vocab.get()).isEqualTo(draft.vocabSize()).isPositive();
    }

    @Test
    void refusesToGrowPastTheContext() {
        int[] tooLong = new int[BundledModels.CONTEXT + 1];
        assertThatThrownBy(() -> draft.extend(List.of(new Extension("long", tooLong))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("beyond the model context of 512");
        assertThat(draft.cachedLength("long")).isZero();
    }

    @Test
    void truncatingBeyondTheCacheFails() {
        draft.extend(List.of(new Extension("short", ByteTokens.of("ab"))));
        assertThatThrownBy(() -> draft.truncate("short", 3))
                .hasMessageContaining("cannot truncate a cache of 2 tokens to 3");
        draft.release("short");
    }

    // ----- helpers -----

    private void assertRowsClose(float[][] actual, float[][] expected) {
        assertThat(actual.length).isEqualTo(expected.length);
        for (int j = 0; j < actual.length; j++) {
            assertClose(actual[j], expected[j]);
        }
    }

    private void assertClose(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        double worst = 0;
        for (int v = 0; v < actual.length; v++) {
            worst = Math.max(worst, Math.abs(actual[v] - expected[v]));
        }
        assertThat(worst).as("max abs difference").isLessThanOrEqualTo(tolerance());
    }

    private static int[] unpadded(int[] ids, int[] mask) {
        return Arrays.stream(range(ids.length))
                .filter(j -> mask[j] == 1)
                .map(j -> ids[j])
                .toArray();
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static int[][] ints2(JsonArray array) {
        int[][] out = new int[array.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints(array.get(i).getAsJsonArray());
        }
        return out;
    }

    private static int[] ints(JsonArray array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).getAsInt();
        }
        return out;
    }

    private static float[] floats(JsonArray array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).getAsFloat();
        }
        return out;
    }
}
