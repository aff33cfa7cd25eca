package io.tetris.measure;

import io.tetris.core.Tetris;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of one round's TETRIS selection at the paper's largest setting: B = 256 requests with k +
 * extra = 8 draft tokens each (2,048 candidates). The paper reports under 0.3 ms for its GPU top-k.
 *
 * <p>Run: {@code mvn -B -ntp -pl engine -am -Pjmh test-compile exec:exec
 * -Djmh.args=TetrisSelectBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TetrisSelectBenchmark {

    @Param({"256"})
    public int batch;

    @Param({"8"})
    public int drafted;

    @Param({"4", "6"})
    public int k;

    private double[][] logProbs; // [batch][drafted]
    private double[] weights; // [batch]

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(42);
        logProbs = new double[batch][drafted];
        weights = new double[batch];
        for (int i = 0; i < batch; i++) {
            weights[i] = random.nextDouble(0.5, 2.0);
            for (int j = 0; j < drafted; j++) {
                logProbs[i][j] = Math.log(random.nextDouble(0.01, 1.0));
            }
        }
    }

    @Benchmark
    public int[] select() {
        return Tetris.select(logProbs, k * batch);
    }

    @Benchmark
    public int[] selectWeighted() {
        return Tetris.select(logProbs, weights, k * batch);
    }
}
