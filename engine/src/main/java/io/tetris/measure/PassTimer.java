package io.tetris.measure;

import io.tetris.engine.CachedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Times one model's verification passes of a few row shapes side by side on two runners: one that
 * multiplies the weights by the real tokens only (packed rows) and one that pads every row to the
 * longest. The shapes are those a budget policy chooses between at one running batch: plain
 * decoding, fixed k, a TETRIS-like ragged allocation of the same budget, and one long row. Passes
 * alternate between the runners (and their order between repeats), so a slow phase of the machine
 * hits both alike.
 */
public final class PassTimer {

    /**
     * @param name what the shape stands for
     * @param drafts {@code [batch]} draft tokens each row verifies (the pass feeds one more)
     */
    public record Shape(String name, int[] drafts) {

        /** Tokens the pass feeds: every row's drafts plus one. */
        public int tokens() {
            return Arrays.stream(drafts).sum() + drafts.length;
        }

        /** Tokens a padding runner computes: every row as long as the longest. */
        public int paddedTokens() {
            return drafts.length * (Arrays.stream(drafts).max().orElse(0) + 1);
        }
    }

    /**
     * One shape's pass times in milliseconds, one per repeat, on each runner, and the packed
     * runner's host work per pass (time in the call outside the model's runs).
     */
    public record Timing(Shape shape, double[] packedMs, double[] paddedMs, double[] packedHostMs) {

        public double packedMedian() {
            return Median.of(packedMs);
        }

        public double paddedMedian() {
            return Median.of(paddedMs);
        }

        public double packedHostMedian() {
            return Median.of(packedHostMs);
        }
    }

    private PassTimer() {}

    /**
     * The shapes at {@code batch} sequences and a budget of {@code k} drafts per sequence: plain
     * decoding, fixed k, the same budget ragged (rows from 2k down to 0, as TETRIS gives the likely
     * drafts of some requests and none of others), and one row with k + 2 drafts among plain rows.
     */
    public static List<Shape> shapes(int batch, int k) {
        if (batch < 1 || k < 1) {
            throw new IllegalArgumentException("need batch >= 1 and k >= 1");
        }
        int[] ragged = new int[batch];
        int sum = 0;
        for (int i = 0; i < batch; i++) {
            ragged[i] = batch == 1 ? k : Math.round(2f * k * (batch - 1 - i) / (batch - 1));
            sum += ragged[i];
        }
        ragged[0] += k * batch - sum; // the same budget as fixed k
        int[] oneLong = new int[batch];
        oneLong[0] = k + 2;
        int[] fixed = new int[batch];
        Arrays.fill(fixed, k);
        return List.of(
                new Shape("plain decoding", new int[batch]),
                new Shape("fixed k=" + k, fixed),
                new Shape("ragged, same budget", ragged),
                new Shape("one row of " + (k + 2), oneLong));
    }

    /**
     * Times every shape {@code repeats} times on each runner, after {@code warmUp} untimed passes,
     * every row with {@code context} cached tokens. Call on a large-stack thread.
     */
    public static List<Timing> run(
            CachedModel packed,
            CachedModel padded,
            List<Shape> shapes,
            int context,
            int warmUp,
            int repeats,
            long seed) {
        Random random = new Random(seed);
        int batch = shapes.get(0).drafts().length;
        int[][] committed = new int[batch][];
        for (int i = 0; i < batch; i++) {
            committed[i] = tokens(random, context);
        }
        List<Timing> out = new ArrayList<>();
        for (Shape shape : shapes) {
            double[] a = new double[repeats];
            double[] b = new double[repeats];
            double[] host = new double[repeats];
            for (int r = -warmUp; r < repeats; r++) {
                List<CachedModel.Request> requests = requests(committed, shape, random);
                boolean packedFirst = (r & 1) == 0;
                double[] first = time(packedFirst ? packed : padded, requests);
                double[] second = time(packedFirst ? padded : packed, requests);
                if (r >= 0) {
                    double[] p = packedFirst ? first : second;
                    a[r] = p[0];
                    host[r] = p[1];
                    b[r] = packedFirst ? second[0] : first[0];
                }
            }
            out.add(new Timing(shape, a, b, host));
        }
        return out;
    }

    private static List<CachedModel.Request> requests(
            int[][] committed, Shape shape, Random random) {
        List<CachedModel.Request> requests = new ArrayList<>();
        for (int i = 0; i < committed.length; i++) {
            int n = shape.drafts()[i];
            requests.add(
                    new CachedModel.Request(
                            "row" + i, committed[i], tokens(random, n), n, n + 1, true));
        }
        return requests;
    }

    /** {wall, host} milliseconds of one pass. */
    private static double[] time(CachedModel model, List<CachedModel.Request> requests) {
        io.tetris.model.ModelTraffic before = model.model().traffic().copy();
        long start = System.nanoTime();
        model.forward(requests);
        double wall = (System.nanoTime() - start) / 1e6;
        return new double[] {wall, model.model().traffic().since(before).hostNanos() / 1e6};
    }

    /** Printable bytes, valid tokens of either bundled vocabulary. */
    private static int[] tokens(Random random, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 32 + random.nextInt(90);
        }
        return t;
    }
}
