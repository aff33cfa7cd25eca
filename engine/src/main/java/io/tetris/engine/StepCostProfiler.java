package io.tetris.engine;

import io.tetris.policy.PaddedStepCostModel;
import io.tetris.policy.StepCostFit;
import io.tetris.policy.StepCostFit.Linear;
import io.tetris.policy.StepCostFit.Sample;
import io.tetris.policy.StepCostModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Measures how long the draft and target models take on this machine, over a grid of batch sizes,
 * tokens per sequence and context lengths, and fits a {@link StepCostProfile} to the times.
 *
 * <p>For each (batch size, context length) it builds {@code batch} pseudo-random sequences of
 * {@code context} tokens under ids of its own ({@code profile-<n>-<i>}, a fresh {@code n} per
 * {@link #profile} call), fills both models' caches with them, then times
 *
 * <ul>
 *   <li>a draft step: one draft {@link CachedModel#forward} appending one token to every sequence;
 *   <li>a verification pass: one target {@link CachedModel#forward} appending {@code t} tokens to
 *       every sequence and reading all {@code t} positions.
 * </ul>
 *
 * Each timed call asks for the extended sequence with a tail of exactly the new tokens, so {@link
 * CachedModel} rolls the cache back to the original {@code context} tokens first: every repeat
 * processes exactly the new tokens over a cache of {@code context} tokens, as a decode round does
 * after a rollback. The median of the repeats is the sample. All profile ids are released at the
 * end, also when profiling fails.
 *
 * <p>Not thread-safe, like the models it times; run it while nothing else uses them.
 */
public final class StepCostProfiler {

    private static final AtomicLong PROFILES = new AtomicLong();

    private final CachedModel draft;
    private final CachedModel target;
    private final int tokenRange;

    /**
     * A grid of points to measure.
     *
     * @param batchSizes sequences per step, at least two different values
     * @param verifyTokens new tokens per sequence in a verification pass (a draft step always has
     *     one)
     * @param contextLengths cached tokens per sequence, at least two different values
     * @param repeats timed calls per point, whose median is kept
     * @param warmUp untimed calls before the timed ones at each point
     */
    public record Grid(
            List<Integer> batchSizes,
            List<Integer> verifyTokens,
            List<Integer> contextLengths,
            int repeats,
            int warmUp) {

        public Grid {
            batchSizes = positive("batch sizes", batchSizes);
            verifyTokens = positive("verify tokens", verifyTokens);
            contextLengths = positive("context lengths", contextLengths);
            if (batchSizes.stream().distinct().count() < 2) {
                throw new IllegalArgumentException(
                        "need at least two batch sizes to fit per-sequence costs, got "
                                + batchSizes);
            }
            if (contextLengths.stream().distinct().count() < 2) {
                throw new IllegalArgumentException(
                        "need at least two context lengths to fit per-context-token costs, got "
                                + contextLengths);
            }
            if (repeats < 1) {
                throw new IllegalArgumentException("repeats must be >= 1, got " + repeats);
            }
            if (warmUp < 0) {
                throw new IllegalArgumentException("warm-up rounds must be >= 0, got " + warmUp);
            }
        }

        /** Batch sizes 1 to 64, verify tokens 1, 2, 4, 7, contexts 32, 96, 192; 3 repeats. */
        public static Grid standard() {
            return new Grid(
                    List.of(1, 2, 4, 8, 16, 32, 64),
                    List.of(1, 2, 4, 7),
                    List.of(32, 96, 192),
                    3,
                    1);
        }

        /** Batch sizes 1, 8, 32, 64, verify tokens 1, 4, 7, contexts 48, 160; 2 repeats. */
        public static Grid quick() {
            return new Grid(List.of(1, 8, 32, 64), List.of(1, 4, 7), List.of(48, 160), 2, 1);
        }

        private int longest() {
            return contextLengths.stream().mapToInt(Integer::intValue).max().orElseThrow()
                    + Math.max(1, mostVerifyTokens());
        }

        private int mostVerifyTokens() {
            return verifyTokens.stream().mapToInt(Integer::intValue).max().orElseThrow();
        }

        private static List<Integer> positive(String what, List<Integer> values) {
            List<Integer> copy = List.copyOf(values);
            if (copy.isEmpty()) {
                throw new IllegalArgumentException(what + " must not be empty");
            }
            for (int v : copy) {
                if (v < 1) {
                    throw new IllegalArgumentException(what + " must be >= 1, got " + copy);
                }
            }
            return copy;
        }
    }

    /**
     * @param draft the draft model
     * @param target the target model
     * @param tokenRange synthetic tokens are drawn from {@code [0, tokenRange)}; at most both
     *     models' vocabulary (256 for the byte-level models: every byte, no special token)
     */
    public StepCostProfiler(CachedModel draft, CachedModel target, int tokenRange) {
        this.draft = Objects.requireNonNull(draft, "draft");
        this.target = Objects.requireNonNull(target, "target");
        int vocab = Math.min(draft.model().vocabSize(), target.model().vocabSize());
        if (tokenRange < 1 || tokenRange > vocab) {
            throw new IllegalArgumentException(
                    "token range must be in [1, "
                            + vocab
                            + "] (the vocabulary), got "
                            + tokenRange);
        }
        this.tokenRange = tokenRange;
    }

    /** Profiles without progress lines. */
    public StepCostProfile profile(Grid grid) {
        return profile(grid, line -> {});
    }

    /**
     * Measures every grid point and fits both step kinds.
     *
     * @param progress receives one line after each batch size
     * @throws IllegalArgumentException if the longest point would not fit the models' context
     */
    public StepCostProfile profile(Grid grid, Consumer<String> progress) {
        Objects.requireNonNull(grid, "grid");
        Objects.requireNonNull(progress, "progress");
        int maxContext = Math.min(draft.model().maxContext(), target.model().maxContext());
        if (grid.longest() > maxContext) {
            throw new IllegalArgumentException(
                    "the grid reaches "
                            + grid.longest()
                            + " tokens (longest context plus most verify tokens), beyond the"
                            + " models' context of "
                            + maxContext);
        }
        int maxBatch = grid.batchSizes().stream().mapToInt(Integer::intValue).max().orElseThrow();
        long n = PROFILES.incrementAndGet();
        List<String> allIds = new ArrayList<>(maxBatch);
        for (int i = 0; i < maxBatch; i++) {
            allIds.add("profile-" + n + "-" + i);
        }
        List<Sample> draftSamples = new ArrayList<>();
        List<Sample> verifySamples = new ArrayList<>();
        List<Ragged> ragged = new ArrayList<>();
        long start = System.nanoTime();
        try {
            int done = 0;
            for (int batch : grid.batchSizes()) {
                List<String> ids = allIds.subList(0, batch);
                for (int context : grid.contextLengths()) {
                    SplittableRandom random = new SplittableRandom(31L * batch + context);
                    List<int[]> base = new ArrayList<>(batch);
                    for (int i = 0; i < batch; i++) {
                        base.add(randomTokens(random, context));
                    }
                    int[] one = new int[batch];
                    Arrays.fill(one, 1);
                    // Fill the caches with the context (untimed).
                    draft.forward(ids, base, one);
                    target.forward(ids, base, one);

                    List<int[]> step = extend(base, 1, random);
                    double draftSeconds = time(draft, ids, step, one, grid);
                    draftSamples.add(new Sample(batch, 1, context, draftSeconds));

                    for (int t : grid.verifyTokens()) {
                        int[] tail = new int[batch];
                        Arrays.fill(tail, t);
                        double verifySeconds =
                                time(target, ids, extend(base, t, random), tail, grid);
                        verifySamples.add(new Sample(batch, t, context, verifySeconds));
                    }
                    if (batch > 1) {
                        // One row of the most tokens among rows of one: what padding costs.
                        int longest = grid.mostVerifyTokens();
                        int[] tail = new int[batch];
                        Arrays.fill(tail, 1);
                        tail[0] = longest;
                        List<int[]> sequences = extend(base, 1, random);
                        sequences.set(0, extend(List.of(base.get(0)), longest, random).get(0));
                        double seconds = time(target, ids, sequences, tail, grid);
                        ragged.add(new Ragged(batch, longest, context, seconds));
                    }
                }
                done++;
                Sample lastDraft = draftSamples.get(draftSamples.size() - 1);
                Sample lastVerify = verifySamples.get(verifySamples.size() - 1);
                progress.accept(
                        String.format(
                                Locale.ROOT,
                                "profiled batch size %d (%d/%d): at context %.0f a draft step takes"
                                        + " %.3f ms, a verify pass of %.0f tokens %.3f ms;"
                                        + " %.1f s so far",
                                batch,
                                done,
                                grid.batchSizes().size(),
                                lastDraft.contextLength(),
                                lastDraft.seconds() * 1e3,
                                lastVerify.tokensPerSequence(),
                                lastVerify.seconds() * 1e3,
                                (System.nanoTime() - start) / 1e9));
            }
        } finally {
            for (String id : allIds) {
                draft.release(id);
                target.release(id);
            }
        }
        Linear verify = StepCostFit.fit(verifySamples);
        return new StepCostProfile(
                draftSamples,
                verifySamples,
                StepCostFit.fit(draftSamples),
                verify,
                machine(),
                paddedSeconds(verify, ragged));
    }

    /** A ragged pass: one row of {@code longest} new tokens, the other rows one each. */
    record Ragged(int batch, int longest, double context, double seconds) {}

    /**
     * The median over the ragged passes of their time beyond what their real tokens cost (the
     * uniform fit at their mean tokens per row), per padded position; at least 0.
     */
    static double paddedSeconds(Linear verify, List<Ragged> passes) {
        double[] perPosition = new double[passes.size()];
        for (int i = 0; i < perPosition.length; i++) {
            Ragged r = passes.get(i);
            int drafts = r.longest() - 1; // draft tokens: all of one row's new tokens but one
            double mean = StepCostModel.meanTokensPerSequence(r.batch(), drafts);
            double real = verify.predict(r.batch(), mean, r.context());
            int padded = PaddedStepCostModel.paddedPositions(r.batch(), drafts, drafts);
            perPosition[i] = padded > 0 ? (r.seconds() - real) / padded : 0;
        }
        return perPosition.length == 0 ? 0 : Math.max(0, median(perPosition));
    }

    /** The median of {@code values} (the mean of the middle two for an even count); sorts them. */
    private static double median(double[] values) {
        Arrays.sort(values);
        int m = values.length / 2;
        return values.length % 2 == 1 ? values[m] : (values[m - 1] + values[m]) / 2;
    }

    /** Cores, architecture, operating system and Java version: no paths or host names. */
    public static String machine() {
        return Runtime.getRuntime().availableProcessors()
                + " cores, "
                + System.getProperty("os.arch", "unknown")
                + ", "
                + System.getProperty("os.name", "unknown")
                + ", Java "
                + Runtime.version();
    }

    /** Median seconds of {@code grid.repeats()} forward calls after {@code grid.warmUp()}. */
    private static double time(
            CachedModel model, List<String> ids, List<int[]> sequences, int[] tail, Grid grid) {
        for (int w = 0; w < grid.warmUp(); w++) {
            model.forward(ids, sequences, tail);
        }
        double[] seconds = new double[grid.repeats()];
        for (int r = 0; r < seconds.length; r++) {
            // The cache holds the sequence; a tail of the new tokens rolls it back to the context.
            long t0 = System.nanoTime();
            model.forward(ids, sequences, tail);
            seconds[r] = (System.nanoTime() - t0) / 1e9;
        }
        return median(seconds);
    }

    private List<int[]> extend(List<int[]> base, int tokens, SplittableRandom random) {
        List<int[]> out = new ArrayList<>(base.size());
        for (int[] sequence : base) {
            int[] longer = Arrays.copyOf(sequence, sequence.length + tokens);
            for (int j = sequence.length; j < longer.length; j++) {
                longer[j] = random.nextInt(tokenRange);
            }
            out.add(longer);
        }
        return out;
    }

    private int[] randomTokens(SplittableRandom random, int length) {
        int[] tokens = new int[length];
        for (int j = 0; j < length; j++) {
            tokens[j] = random.nextInt(tokenRange);
        }
        return tokens;
    }
}
