package io.tetris.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PredictionScoreTest {

    @Test
    void aucCountsOrderedPairsAndHalfTies() {
        PredictionScore s = new PredictionScore();
        s.add(0.9, true);
        s.add(0.6, true);
        s.add(0.7, false);
        s.add(0.1, false);
        s.add(0.6, false);
        // Positive-negative pairs: 0.9 beats all 3; 0.6 beats 0.1, ties 0.6, loses to 0.7.
        assertThat(s.auc()).isCloseTo((3 + 1 + 0.5) / 6, within(1e-12));
    }

    @Test
    void aPerfectRankingHasAucOneAndAConstantHasAHalf() {
        PredictionScore perfect = new PredictionScore();
        PredictionScore constant = new PredictionScore();
        for (int i = 0; i < 100; i++) {
            perfect.add(i < 50 ? 0.2 : 0.8, i >= 50);
            constant.add(0.5, i % 3 == 0);
        }
        assertThat(perfect.auc()).isEqualTo(1.0);
        assertThat(constant.auc()).isEqualTo(0.5);
        assertThat(new PredictionScore().auc()).isEqualTo(0.5);
    }

    @Test
    void calibrationErrorAndBrier() {
        PredictionScore s = new PredictionScore();
        for (int i = 0; i < 10; i++) {
            s.add(0.8, i < 8); // calibrated
        }
        assertThat(s.expectedError()).isCloseTo(0, within(1e-12));
        assertThat(s.brierScore()).isCloseTo(0.8 * 0.04 + 0.2 * 0.64, within(1e-12));
    }
}
