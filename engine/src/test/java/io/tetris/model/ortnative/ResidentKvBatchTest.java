package io.tetris.model.ortnative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.tetris.model.BundledModels;
import io.tetris.model.LanguageModel.Extension;
import io.tetris.model.ModelTraffic;
import io.tetris.model.NextTokens;
import io.tetris.model.OnnxLanguageModel;
import io.tetris.model.OnnxModelOptions;
import io.tetris.model.OnnxModelOptions.KvCacheMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The resident native batch against the heap path it replaces, on the bundled models, both with
 * passes writing into the caches (the bundled graphs, {@code native}) and concatenating onto a copy
 * (the general path every export takes, {@code native-concat}): the same logits under random
 * traffic that exercises every way a batch changes (new sequences, ragged extensions, rollbacks,
 * releases, compaction, growing and shrinking), and per-pass traffic that does not grow with the
 * context.
 */
class ResidentKvBatchTest {

    private static final double TOLERANCE = 1e-4;

    /** With the logits reduced in place (host memory) and by the graph (what a device runs). */
    @ParameterizedTest(name = "{0}, logits graph: {1}")
    @CsvSource({"NATIVE, false", "NATIVE, true", "NATIVE_CONCAT, false", "NATIVE_CONCAT, true"})
    void randomTrafficGivesTheLogitsOfTheHeapPath(KvCacheMode mode, boolean logitsGraph) {
        try (OnnxLanguageModel heap = BundledModels.load(BundledModels.target(), KvCacheMode.HEAP);
                OnnxLanguageModel resident =
                        nativeModel(BundledModels.target(), mode, logitsGraph)) {
            assertThat(resident.writesCachesInPlace()).isEqualTo(mode == KvCacheMode.NATIVE);
            assertThat(resident.kvCacheDescription())
                    .contains(mode == KvCacheMode.NATIVE ? "in place" : "general path");
            SplittableRandom random = new SplittableRandom(12);
            Map<String, Integer> live = new HashMap<>(); // id -> cached length
            int nextId = 0;
            int compared = 0;
            for (int op = 0; op < 160; op++) {
                int kind = random.nextInt(10);
                if (kind < 2 && live.size() < 12 || live.isEmpty()) {
                    String id = "s" + nextId++;
                    int[] prompt = tokens(random, 1 + random.nextInt(40));
                    compared += compare(heap, resident, List.of(new Extension(id, prompt)), random);
                    live.put(id, prompt.length);
                } else if (kind < 7) {
                    List<Extension> batch = new ArrayList<>();
                    for (String id : live.keySet()) {
                        int room = BundledModels.CONTEXT - live.get(id);
                        int n = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(5);
                        batch.add(new Extension(id, tokens(random, Math.min(n, room))));
                    }
                    if (random.nextInt(3) == 0) {
                        // Joins the pass when its prompt is short, is prefilled apart otherwise.
                        batch.add(
                                new Extension(
                                        "s" + nextId++, tokens(random, 1 + random.nextInt(16))));
                    }
                    compared += compare(heap, resident, batch, random);
                    for (Extension e : batch) {
                        live.merge(e.sequenceId(), e.tokens().length, Integer::sum);
                    }
                } else if (kind < 9) {
                    String id = pick(random, live);
                    int length = live.get(id) - random.nextInt(Math.min(live.get(id), 6) + 1);
                    heap.truncate(id, length);
                    resident.truncate(id, length);
                    live.put(id, length);
                } else {
                    String id = pick(random, live);
                    heap.release(id);
                    resident.release(id);
                    live.remove(id);
                }
                for (String id : live.keySet()) {
                    assertThat(resident.cachedLength(id)).isEqualTo(heap.cachedLength(id));
                }
                assertThat(resident.sequences()).isEqualTo(live.size());
            }
            assertThat(compared).isGreaterThan(500);
            ModelTraffic traffic = resident.traffic();
            assertThat(traffic.compactions).as("compactions").isGreaterThan(3);
            // In place, sequences prefilled apart also join free rows without a compaction.
            assertThat(traffic.joins > 0).as("joins").isEqualTo(mode == KvCacheMode.NATIVE);
            assertThat(traffic.kvBytesCrossed).isZero();
            assertThat(heap.traffic().kvBytesCrossed).isPositive();
        }
    }

    @ParameterizedTest(name = "{0}, logits graph: {1}")
    @CsvSource({"NATIVE, false", "NATIVE, true", "NATIVE_CONCAT, false", "NATIVE_CONCAT, true"})
    void perPassTrafficDoesNotGrowWithTheContext(KvCacheMode mode, boolean logitsGraph) {
        boolean inPlace = mode == KvCacheMode.NATIVE;
        // In place, a pass also sends the column it writes at (8 bytes), and a hole is a (row,
        // column) pair (16 bytes) rather than a flat index (8).
        long writeAt = inPlace ? Long.BYTES : 0;
        long hole = inPlace ? 2 * Long.BYTES : Long.BYTES;
        try (OnnxLanguageModel model = nativeModel(BundledModels.draft(), mode, logitsGraph)) {
            SplittableRandom random = new SplittableRandom(3);
            int batch = 8;
            List<Extension> prefill = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                prefill.add(new Extension("c" + i, tokens(random, 64)));
            }
            model.extend(prefill);
            long[] logits = new long[2];
            long[] tokens = new long[2];
            long[] masks = new long[2];
            int[] contexts = {64, 384};
            int context = 64;
            for (int point = 0; point < 2; point++) {
                while (context < contexts[point]) {
                    step(model, random, batch);
                    context++;
                }
                ModelTraffic before = model.traffic().copy();
                step(model, random, batch);
                context++;
                ModelTraffic one = model.traffic().since(before);
                logits[point] = one.logitBytesOut;
                // The model's run, plus the reduction graph's when the logits go through it.
                assertThat(one.runs).isEqualTo(logitsGraph ? 2 : 1);
                tokens[point] = one.tokenBytesIn - one.maskBytesIn;
                masks[point] = one.maskBytesIn;
                assertThat(one.kvBytesCrossed).isZero();
            }
            // One greedy step: batch x 1 token in (ids, positions, the new mask column), batch x
            // (argmax, its log-probability, the runner-up's) out, not a vocabulary row each, at 64
            // and 384 cached
            // tokens alike: the mask of the cached columns stays where the caches are.
            assertThat(tokens[1]).isEqualTo(tokens[0]).isEqualTo(2L * batch * Long.BYTES + writeAt);
            assertThat(masks[1]).isEqualTo(masks[0]).isEqualTo(batch * Long.BYTES);
            assertThat(logits[1]).isEqualTo(logits[0]).isEqualTo(batch * 16L);
            // A rollback sends the columns it turned into holes, once.
            for (int i = 0; i < batch; i++) {
                model.truncate("c" + i, model.cachedLength("c" + i) - 2);
            }
            ModelTraffic before = model.traffic().copy();
            step(model, random, batch);
            assertThat(model.traffic().since(before).maskBytesIn)
                    .isEqualTo(batch * Long.BYTES + 2L * batch * hole);
            before = model.traffic().copy();
            step(model, random, batch);
            assertThat(model.traffic().since(before).maskBytesIn).isEqualTo(batch * Long.BYTES);
            assertThat(model.cacheLocation()).isEqualTo("Cpu:0");
        }
    }

    private static void step(OnnxLanguageModel model, SplittableRandom random, int batch) {
        List<Extension> step = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            step.add(new Extension("c" + i, tokens(random, 1), 1, true));
        }
        model.next(step);
    }

    /**
     * One pass on both models, each extension greedy or not at random: full rows must agree, and so
     * must the argmax and its log-probability, reduced or not.
     */
    private static int compare(
            OnnxLanguageModel heap,
            OnnxLanguageModel resident,
            List<Extension> batch,
            SplittableRandom random) {
        List<Extension> mixed = new ArrayList<>();
        for (Extension e : batch) {
            mixed.add(
                    new Extension(
                            e.sequenceId(), e.tokens(), e.tokens().length, random.nextBoolean()));
        }
        NextTokens[] expected = heap.next(mixed);
        NextTokens[] actual = resident.next(mixed);
        int compared = 0;
        for (int b = 0; b < mixed.size(); b++) {
            String id = mixed.get(b).sequenceId();
            assertThat(actual[b].positions()).isEqualTo(expected[b].positions());
            if (actual[b].positions() > 0) {
                assertThat(actual[b].reduced()).isEqualTo(mixed.get(b).greedy());
            }
            for (int j = 0; j < expected[b].positions(); j++) {
                assertThat((double) actual[b].argmaxLogProb()[j])
                        .as("sequence %s position %d", id, j)
                        .isCloseTo(expected[b].argmaxLogProb()[j], offset(TOLERANCE));
                assertThat(actual[b].argmax()[j])
                        .as("sequence %s position %d", id, j)
                        .isEqualTo(expected[b].argmax()[j]);
                if (!mixed.get(b).greedy()) {
                    float[] e = expected[b].logProbs()[j];
                    float[] a = actual[b].logProbs()[j];
                    for (int v = 0; v < e.length; v++) {
                        assertThat((double) a[v])
                                .as("sequence %s position %d", id, j)
                                .isCloseTo(e[v], offset(TOLERANCE));
                    }
                }
                compared++;
            }
        }
        return compared;
    }

    private static String pick(SplittableRandom random, Map<String, Integer> live) {
        List<String> ids = new ArrayList<>(live.keySet());
        ids.sort(null);
        return ids.get(random.nextInt(ids.size()));
    }

    private static int[] tokens(SplittableRandom random, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 32 + random.nextInt(95);
        }
        return t;
    }

    private static OnnxLanguageModel nativeModel(Path file, KvCacheMode mode, boolean logitsGraph) {
        return OnnxLanguageModel.load(
                file,
                OnnxModelOptions.defaults(BundledModels.CONTEXT)
                        .withThreads(1, 1)
                        .withKvCache(mode)
                        .withLogitsGraph(logitsGraph));
    }
}
