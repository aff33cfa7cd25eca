package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AcceptanceCalibratorTest {

    @Test
    void withoutDataTheEstimateIsTheRawProbability() {
        AcceptanceCalibrator c = new AcceptanceCalibrator(1, 4, 20, 4);
        for (double p = 0.025; p < 1; p += 0.05) {
            assertThat(c.estimate(0, 0, Math.log(p))).isCloseTo(p, within(1e-9));
        }
    }

    @Test
    void learnsAnOverconfidentDraftAndLowersPredictionScore() {
        AcceptanceCalibrator c = new AcceptanceCalibrator(2, 8, 20, 4);
        PredictionScore raw = new PredictionScore();
        PredictionScore calibrated = new PredictionScore();
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 40_000; i++) {
            double p = random.nextDouble();
            boolean accepted = random.nextDouble() < p * p; // true acceptance p^2
            double lp = Math.log(p);
            raw.add(p, accepted);
            calibrated.add(c.estimate(0, 1, lp), accepted);
            c.observe(0, 1, lp, accepted);
        }
        assertThat(c.estimate(0, 1, Math.log(0.9))).isCloseTo(0.81, within(0.04));
        assertThat(c.estimate(0, 1, Math.log(0.5))).isCloseTo(0.25, within(0.04));
        assertThat(raw.expectedError()).isGreaterThan(0.15);
        assertThat(calibrated.expectedError()).isLessThan(0.03);
        assertThat(calibrated.brierScore()).isLessThan(raw.brierScore());
    }

    @Test
    void estimatesNeverDecreaseWithDraftProbability() {
        AcceptanceCalibrator c = new AcceptanceCalibrator(1, 1, 10, 1);
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 500; i++) {
            c.observe(0, 0, Math.log(random.nextDouble()), random.nextBoolean());
        }
        double previous = -1;
        for (double p = 0.001; p <= 1; p += 0.001) {
            double e = c.estimate(0, 0, Math.log(p));
            assertThat(e).isGreaterThanOrEqualTo(previous - 1e-12).isBetween(0.0, 1.0);
            previous = e;
        }
    }

    @Test
    void groupsAndPositionsAreKeptApartAndDeepPositionsShareTheLast() {
        AcceptanceCalibrator c = new AcceptanceCalibrator(2, 3, 10, 1);
        for (int i = 0; i < 1000; i++) {
            c.observe(1, 5, Math.log(0.95), false);
        }
        double lp = Math.log(0.95);
        assertThat(c.estimate(1, 2, lp)).isLessThan(0.01);
        assertThat(c.estimate(1, 9, lp)).isLessThan(0.01);
        assertThat(c.estimate(1, 1, lp)).isCloseTo(0.95, within(1e-9));
        assertThat(c.estimate(0, 2, lp)).isCloseTo(0.95, within(1e-9));
    }

    @Test
    void rejectsBadArguments() {
        AcceptanceCalibrator c = new AcceptanceCalibrator(2, 8, 20, 4);
        assertThatThrownBy(() -> c.estimate(2, 0, -1)).hasMessageContaining("group 2");
        assertThatThrownBy(() -> c.observe(0, -1, -1, true)).hasMessageContaining("position");
        assertThatThrownBy(() -> new AcceptanceCalibrator(1, 1, 1, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void calibrationErrorOfAConstantOverconfidentPrediction() {
        PredictionScore e = new PredictionScore();
        for (int i = 0; i < 100; i++) {
            e.add(0.9, i % 2 == 0);
        }
        assertThat(e.expectedError()).isCloseTo(0.4, within(1e-9));
        assertThat(e.brierScore()).isCloseTo((0.81 + 0.01) / 2, within(1e-9));
        assertThat(e.count()).isEqualTo(100);
    }
}
