package io.tetris.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.tetris.engine.StepCostProfiler.Grid;
import io.tetris.model.BundledModels;
import io.tetris.model.LanguageModel;
import io.tetris.policy.PaddedStepCostModel;
import io.tetris.policy.StepCostFit;
import io.tetris.policy.StepCostFit.Sample;
import io.tetris.policy.StepCostModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link StepCostProfiler} on the bundled models with a tiny grid, its exact cache handling on a
 * recording model, and {@link StepCostProfile}'s text format.
 */
class StepCostProfilerTest {

    // Medians of three: one timing per point let a noisy point clamp a fitted slope to zero.
    private static final Grid TINY = new Grid(List.of(1, 8), List.of(1, 4), List.of(16, 48), 3, 1);

    private static CachedModel draft;
    private static CachedModel target;
    private static StepCostProfile profile;
    private static final List<String> progress = new ArrayList<>();

    @BeforeAll
    static void profileTheBundledModels() {
        draft = new CachedModel(BundledModels.load(BundledModels.draft()));
        target = new CachedModel(BundledModels.load(BundledModels.target()));
        profile = new StepCostProfiler(draft, target, 256).profile(TINY, progress::add);
        System.out.println(profile.summary());
    }

    @AfterAll
    static void close() {
        draft.close();
        target.close();
    }

    @Test
    void theSummaryStatesWhatDraftingCostsAgainstVerifying() {
        // Fits of known slopes: the measured ones are too noisy at this grid to pin a value (a
        // slope clamped at zero leaves no ratio).
        StepCostProfile known =
                new StepCostProfile(
                        List.of(),
                        List.of(),
                        new StepCostFit.Linear(2e-4, 10e-6, 0, 1, 0),
                        new StepCostFit.Linear(4e-4, 40e-6, 1e-6, 1, 0),
                        "test");
        assertThat(known.draftToVerifyRatio())
                .isEqualTo(0.25, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(known.summary()).contains("draft step per sequence / verify per token: 0.250");
        StepCostProfile flat =
                new StepCostProfile(
                        List.of(),
                        List.of(),
                        new StepCostFit.Linear(2e-4, 10e-6, 0, 1, 0),
                        new StepCostFit.Linear(4e-4, 0, 1e-6, 1, 0),
                        "test");
        assertThat(flat.draftToVerifyRatio()).isNaN();
        // The measured profile states its own ratio, whatever it is.
        assertThat(profile.summary())
                .contains(
                        String.format(
                                java.util.Locale.ROOT,
                                "draft step per sequence / verify per token: %.3f",
                                profile.draftToVerifyRatio()));
    }

    @Test
    void measuresEveryGridPointAndReleasesItsCaches() {
        Set<List<Double>> draftPoints = new HashSet<>();
        for (Sample s : profile.draftSamples()) {
            assertThat(s.seconds()).as("draft %s", s).isPositive();
            draftPoints.add(
                    List.of((double) s.batchSize(), s.tokensPerSequence(), s.contextLength()));
        }
        assertThat(profile.draftSamples()).hasSize(4);
        assertThat(draftPoints)
                .containsExactlyInAnyOrder(
                        List.of(1.0, 1.0, 16.0),
                        List.of(1.0, 1.0, 48.0),
                        List.of(8.0, 1.0, 16.0),
                        List.of(8.0, 1.0, 48.0));
        Set<List<Double>> verifyPoints = new HashSet<>();
        for (Sample s : profile.verifySamples()) {
            assertThat(s.seconds()).as("verify %s", s).isPositive();
            verifyPoints.add(
                    List.of((double) s.batchSize(), s.tokensPerSequence(), s.contextLength()));
        }
        assertThat(profile.verifySamples()).hasSize(8);
        assertThat(verifyPoints).hasSize(8);
        for (double b : new double[] {1, 8}) {
            for (double t : new double[] {1, 4}) {
                for (double c : new double[] {16, 48}) {
                    assertThat(verifyPoints).contains(List.of(b, t, c));
                }
            }
        }
        assertThat(draft.sequences()).isZero();
        assertThat(target.sequences()).isZero();
        assertThat(progress).hasSize(2);
        assertThat(progress.get(0)).contains("batch size 1 (1/2)");
        assertThat(progress.get(1)).contains("batch size 8 (2/2)");
        assertThat(profile.machine())
                .contains(Runtime.getRuntime().availableProcessors() + " cores")
                .doesNotContain("/");
    }

    @Test
    void fitsTheSamplesIntoAUsableModel() {
        assertThat(profile.draft()).isEqualTo(StepCostFit.fit(profile.draftSamples()));
        assertThat(profile.verify()).isEqualTo(StepCostFit.fit(profile.verifySamples()));
        StepCostModel model = profile.model();
        assertThat(model)
                .isEqualTo(
                        PaddedStepCostModel.of(
                                StepCostFit.model(profile.draft(), profile.verify()),
                                profile.paddedSeconds()));
        assertThat(model.verifySeconds(8, 4, 48)).isGreaterThan(model.verifySeconds(1, 1, 48));
        assertThat(model.roundSeconds(8, 3, 3, 48)).isGreaterThan(model.verifySeconds(8, 4, 48));
    }

    @Test
    void saveThenLoadGivesBackTheSameProfile(@TempDir Path dir) {
        Path file = dir.resolve("profile.txt");
        profile.save(file);
        StepCostProfile loaded = StepCostProfile.load(file);
        assertThat(loaded.draftSamples()).hasSize(4).isEqualTo(profile.draftSamples());
        assertThat(loaded.verifySamples()).hasSize(8).isEqualTo(profile.verifySamples());
        assertThat(loaded.draft()).isEqualTo(profile.draft());
        assertThat(loaded.verify()).isEqualTo(profile.verify());
        assertThat(loaded.machine()).isEqualTo(profile.machine());
        assertThat(loaded).isEqualTo(profile);
        StepCostProfile padded = profile.withPaddedSeconds(1.5e-4);
        padded.save(file);
        assertThat(StepCostProfile.load(file)).isEqualTo(padded);
        assertThat(StepCostProfile.load(file).model())
                .isEqualTo(
                        new PaddedStepCostModel(
                                StepCostFit.model(profile.draft(), profile.verify()), 1.5e-4));
    }

    /** Profiles saved before padding was measured load, with padding free. */
    @Test
    void aProfileWithoutPaddingLoadsWithPaddingFree(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("profile.txt");
        profile.withPaddedSeconds(2e-4).save(file);
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        lines.removeIf(l -> l.startsWith("verify.padded="));
        Files.write(file, lines, StandardCharsets.UTF_8);
        assertThat(StepCostProfile.load(file).paddedSeconds()).isZero();
    }

    /**
     * Ragged passes cost what their real tokens cost under the uniform fit plus a price per padded
     * position: the profiler recovers that price.
     */
    @Test
    void pricesAPaddedPositionFromRaggedPasses() {
        StepCostFit.Linear verify = new StepCostFit.Linear(0.010, 0.001, 0, 1, 8);
        double price = 2.5e-4;
        List<StepCostProfiler.Ragged> passes = new ArrayList<>();
        for (int batch : new int[] {4, 8, 32}) {
            int longest = 7;
            double mean = StepCostModel.meanTokensPerSequence(batch, longest - 1);
            double seconds = verify.predict(batch, mean, 48) + price * (batch - 1) * (longest - 1);
            passes.add(new StepCostProfiler.Ragged(batch, longest, 48, seconds));
        }
        assertThat(StepCostProfiler.paddedSeconds(verify, passes)).isCloseTo(price, within(1e-12));
        // A runner where padding is free (faster than the fit, even) prices it at 0.
        List<StepCostProfiler.Ragged> free = List.of(new StepCostProfiler.Ragged(8, 7, 48, 0.001));
        assertThat(StepCostProfiler.paddedSeconds(verify, free)).isZero();
    }

    @Test
    void aCorruptedFileFailsNamingTheFileAndLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("profile.txt");
        profile.save(file);
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        int index = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("verify.sample=")) {
                index = i;
                break;
            }
        }
        assertThat(index).isPositive();
        lines.set(index, "verify.sample=8,4.0,oops,0.001");
        Files.write(file, lines, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> StepCostProfile.load(file))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.getFileName().toString())
                .hasMessageContaining("line " + (index + 1) + ":")
                .hasMessageContaining("oops");

        lines.set(index, "verify.sample 8,4.0,48.0,0.001");
        Files.write(file, lines, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> StepCostProfile.load(file))
                .hasMessageContaining("line " + (index + 1) + ":")
                .hasMessageContaining("key=value");

        lines.remove(index);
        Files.write(file, lines, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> StepCostProfile.load(file))
                .hasMessageContaining("verify.fit counts 8 samples but the file has 7");
    }

    @Test
    void everyTimedCallFeedsExactlyTheNewTokensOverTheContext() {
        RecordingModel draftModel = new RecordingModel();
        RecordingModel targetModel = new RecordingModel();
        Grid grid = new Grid(List.of(1, 3), List.of(2, 5), List.of(4, 9), 2, 1);
        StepCostProfiler profiler =
                new StepCostProfiler(
                        new CachedModel(draftModel), new CachedModel(targetModel), 256);
        StepCostProfile result = profiler.profile(grid);
        int callsPerPoint = grid.warmUp() + grid.repeats();
        for (int b : grid.batchSizes()) {
            for (int c : grid.contextLengths()) {
                assertThat(draftModel.count(b, c, 1))
                        .as("draft b=%d c=%d", b, c)
                        .isEqualTo(callsPerPoint);
                for (int t : grid.verifyTokens()) {
                    assertThat(targetModel.count(b, c, t))
                            .as("verify b=%d c=%d t=%d", b, c, t)
                            .isEqualTo(callsPerPoint);
                }
            }
        }
        for (int c : grid.contextLengths()) {
            // One ragged pass per context at every batch above 1: one row of 5, the others 1.
            assertThat(targetModel.count(3, c, -1)).as("ragged c=%d", c).isEqualTo(callsPerPoint);
            assertThat(targetModel.count(1, c, -1)).isZero();
        }
        assertThat(result.draftSamples()).hasSize(4);
        assertThat(result.verifySamples()).hasSize(8);
        assertThat(draftModel.maxToken).isBetween(0, 255);
        assertThat(targetModel.maxToken).isBetween(0, 255);
        assertThat(draftModel.sequences()).isZero();
        assertThat(targetModel.sequences()).isZero();
        assertThat(draftModel.ids).allMatch(id -> id.startsWith("profile-")).hasSize(3);

        Set<String> first = new HashSet<>(draftModel.ids);
        profiler.profile(grid);
        assertThat(draftModel.ids).hasSize(6).containsAll(first);
    }

    @Test
    void rejectsAGridBeyondTheModelContextBeforeRunningAnything() {
        RecordingModel model = new RecordingModel();
        StepCostProfiler profiler =
                new StepCostProfiler(new CachedModel(model), new CachedModel(model), 256);
        Grid tooLong = new Grid(List.of(1, 2), List.of(1, 7), List.of(32, 510), 1, 0);
        assertThatThrownBy(() -> profiler.profile(tooLong))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("517 tokens")
                .hasMessageContaining("context of 512");
        assertThat(model.calls).isEmpty();
        assertThatThrownBy(
                        () ->
                                new StepCostProfiler(
                                        new CachedModel(model), new CachedModel(model), 300))
                .hasMessageContaining("token range");
    }

    @Test
    void gridsNeedTwoBatchSizesAndTwoContexts() {
        assertThat(Grid.standard().batchSizes()).containsExactly(1, 2, 4, 8, 16, 32, 64);
        assertThat(Grid.quick().contextLengths()).containsExactly(48, 160);
        assertThatThrownBy(() -> new Grid(List.of(4, 4), List.of(1), List.of(16, 32), 1, 0))
                .hasMessageContaining("two batch sizes");
        assertThatThrownBy(() -> new Grid(List.of(1, 4), List.of(1), List.of(16), 1, 0))
                .hasMessageContaining("two context lengths");
    }

    /** A model that records, per extend call, the batch and each row's cached and new tokens. */
    private static final class RecordingModel implements LanguageModel {

        /** {batch, past, new} when every row of a call shares them; else {batch, -1, -1}. */
        final List<int[]> calls = new ArrayList<>();

        final Set<String> ids = new HashSet<>();
        final Map<String, Integer> lengths = new HashMap<>();
        int maxToken = -1;

        @Override
        public int vocabSize() {
            return 257;
        }

        @Override
        public int maxContext() {
            return 512;
        }

        @Override
        public io.tetris.model.NextTokens[] next(List<Extension> batch) {
            int past = -2;
            int fresh = -2;
            io.tetris.model.NextTokens[] out = new io.tetris.model.NextTokens[batch.size()];
            for (int i = 0; i < batch.size(); i++) {
                Extension e = batch.get(i);
                ids.add(e.sequenceId());
                int p = cachedLength(e.sequenceId());
                int n = e.tokens().length;
                past = past == -2 || past == p ? p : -1;
                fresh = fresh == -2 || fresh == n ? n : -1;
                for (int token : e.tokens()) {
                    maxToken = Math.max(maxToken, token);
                }
                lengths.put(e.sequenceId(), p + n);
                out[i] = io.tetris.model.NextTokens.full(new float[e.returned()][vocabSize()]);
            }
            calls.add(new int[] {batch.size(), past, fresh});
            return out;
        }

        int count(int batch, int past, int fresh) {
            int n = 0;
            for (int[] call : calls) {
                if (call[0] == batch && call[1] == past && call[2] == fresh) {
                    n++;
                }
            }
            return n;
        }

        @Override
        public int cachedLength(String sequenceId) {
            return lengths.getOrDefault(sequenceId, 0);
        }

        @Override
        public void truncate(String sequenceId, int length) {
            if (length > cachedLength(sequenceId)) {
                throw new IllegalArgumentException("cannot grow a cache by truncating");
            }
            lengths.put(sequenceId, length);
        }

        @Override
        public void release(String sequenceId) {
            lengths.remove(sequenceId);
        }

        @Override
        public int sequences() {
            return lengths.size();
        }

        @Override
        public void close() {}
    }
}
