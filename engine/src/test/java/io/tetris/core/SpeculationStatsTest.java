package io.tetris.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Tests for {@link SpeculationStats}. */
class SpeculationStatsTest {

    @Test
    void countsInVllmVocabulary() {
        SpeculationStats stats = new SpeculationStats();
        stats.observeSequence(6, 4, 2);
        stats.observeSequence(6, 3, 3);
        stats.observeSequence(6, 0, 0);
        stats.observeRound(8);

        assertThat(stats.rounds()).isEqualTo(1);
        assertThat(stats.sequenceRounds()).isEqualTo(3);
        assertThat(stats.drafts()).isEqualTo(2);
        assertThat(stats.draftTokens()).isEqualTo(18);
        assertThat(stats.verifiedDraftTokens()).isEqualTo(7);
        assertThat(stats.acceptedTokens()).isEqualTo(5);
        assertThat(stats.emittedTokens()).isEqualTo(8);
        assertThat(stats.acceptedPerPosition()).containsExactly(2, 2, 1, 0);
        assertThat(stats.verifiedPerPosition()).containsExactly(2, 2, 2, 1);
        assertThat(stats.meanAcceptanceLength()).isCloseTo(1 + 5.0 / 2, within(1e-12));
        assertThat(stats.acceptanceRate()).isCloseTo(5.0 / 7, within(1e-12));
        assertThat(stats.budgetUtilisation()).isCloseTo(7.0 / 8, within(1e-12));
        assertThat(stats.tokensPerSequenceRound()).isCloseTo(8.0 / 3, within(1e-12));
    }

    @Test
    void emptyStatsHaveNeutralRatios() {
        SpeculationStats stats = new SpeculationStats();
        assertThat(stats.meanAcceptanceLength()).isEqualTo(1.0);
        assertThat(stats.acceptanceRate()).isZero();
        assertThat(stats.budgetUtilisation()).isZero();
    }

    @Test
    void mergeAddsEveryCounter() {
        SpeculationStats a = new SpeculationStats();
        a.observeSequence(3, 3, 1);
        a.observeRound(3);
        SpeculationStats b = new SpeculationStats();
        b.observeSequence(5, 5, 5);
        b.observeRound(5);
        a.merge(b);
        assertThat(a.rounds()).isEqualTo(2);
        assertThat(a.acceptedTokens()).isEqualTo(6);
        assertThat(a.verifiedDraftTokens()).isEqualTo(8);
        assertThat(a.acceptedPerPosition()).containsExactly(2, 1, 1, 1, 1);
        assertThat(a.budget()).isEqualTo(8.0);
    }

    @Test
    void rejectsInconsistentOutcomes() {
        SpeculationStats stats = new SpeculationStats();
        assertThatThrownBy(() -> stats.observeSequence(2, 3, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> stats.observeSequence(3, 2, 3))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
