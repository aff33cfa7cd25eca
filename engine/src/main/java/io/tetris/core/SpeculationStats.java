package io.tetris.core;

import java.util.Arrays;

/**
 * Speculation counters in vLLM's vocabulary, kept apart from any metric export.
 *
 * <ul>
 *   <li><b>drafts</b>: sequence-rounds in which at least one draft token was verified;
 *   <li><b>draft tokens</b>: tokens the draft model proposed (TETRIS drafts {@code k + extra});
 *   <li><b>verified draft tokens</b>: draft tokens the budget sent to the target;
 *   <li><b>accepted tokens</b>: verified draft tokens the target accepted;
 *   <li><b>emitted tokens</b>: accepted plus one recovered or bonus token per sequence-round.
 * </ul>
 *
 * Mean acceptance length is {@code 1 + accepted / drafts}; verification success rate is {@code
 * accepted / verified}; budget utilisation is {@code verified / budget}.
 *
 * <p>The one value for speculation counters: a verifier replica keeps one for all its sequences,
 * and every sequence keeps one of its own (in {@code SequenceState}, Flink state), whose budget is
 * its share of each round's. Its fields are public only for Flink's POJO serializer; change them
 * through the {@code observe} methods. Not thread-safe.
 */
public final class SpeculationStats {

    public long rounds;
    public long sequenceRounds;
    public long drafts;
    public long draftTokens;
    public long verifiedDraftTokens;
    public long acceptedTokens;
    public long emittedTokens;
    public double budget;
    public long[] acceptedPerPosition = new long[0];
    public long[] verifiedPerPosition = new long[0];

    public SpeculationStats() {}

    /**
     * Records the end of a round with the verification budget it had (for one sequence: its share
     * of the round's budget).
     */
    public void observeRound(double roundBudget) {
        rounds++;
        budget += roundBudget;
    }

    /**
     * Records one sequence's outcome in one round.
     *
     * @param drafted tokens the draft proposed for it
     * @param verified of those, sent to the target
     * @param accepted of those, accepted (a prefix of the verified ones)
     */
    public void observeSequence(int drafted, int verified, int accepted) {
        if (drafted < verified || verified < accepted || accepted < 0) {
            throw new IllegalArgumentException(
                    "need drafted >= verified >= accepted >= 0, got "
                            + drafted
                            + ", "
                            + verified
                            + ", "
                            + accepted);
        }
        sequenceRounds++;
        draftTokens += drafted;
        verifiedDraftTokens += verified;
        acceptedTokens += accepted;
        emittedTokens += accepted + 1;
        if (verified > 0) {
            drafts++;
        }
        if (verified > verifiedPerPosition.length) {
            verifiedPerPosition = Arrays.copyOf(verifiedPerPosition, verified);
            acceptedPerPosition = Arrays.copyOf(acceptedPerPosition, verified);
        }
        for (int j = 0; j < verified; j++) {
            verifiedPerPosition[j]++;
        }
        for (int j = 0; j < accepted; j++) {
            acceptedPerPosition[j]++;
        }
    }

    /** Adds another replica's counters to these. */
    public void merge(SpeculationStats other) {
        rounds += other.rounds;
        sequenceRounds += other.sequenceRounds;
        drafts += other.drafts;
        draftTokens += other.draftTokens;
        verifiedDraftTokens += other.verifiedDraftTokens;
        acceptedTokens += other.acceptedTokens;
        emittedTokens += other.emittedTokens;
        budget += other.budget;
        int n = Math.max(verifiedPerPosition.length, other.verifiedPerPosition.length);
        verifiedPerPosition = Arrays.copyOf(verifiedPerPosition, n);
        acceptedPerPosition = Arrays.copyOf(acceptedPerPosition, n);
        for (int j = 0; j < other.verifiedPerPosition.length; j++) {
            verifiedPerPosition[j] += other.verifiedPerPosition[j];
            acceptedPerPosition[j] += other.acceptedPerPosition[j];
        }
    }

    public long rounds() {
        return rounds;
    }

    public long sequenceRounds() {
        return sequenceRounds;
    }

    public long drafts() {
        return drafts;
    }

    public long draftTokens() {
        return draftTokens;
    }

    public long verifiedDraftTokens() {
        return verifiedDraftTokens;
    }

    public long acceptedTokens() {
        return acceptedTokens;
    }

    public long emittedTokens() {
        return emittedTokens;
    }

    public double budget() {
        return budget;
    }

    /** {@code [position]} accepted draft tokens at each draft position. */
    public long[] acceptedPerPosition() {
        return acceptedPerPosition.clone();
    }

    /** {@code [position]} verified draft tokens at each draft position. */
    public long[] verifiedPerPosition() {
        return verifiedPerPosition.clone();
    }

    /** {@code 1 + accepted / drafts}; 1 when nothing was drafted. */
    public double meanAcceptanceLength() {
        return drafts == 0 ? 1.0 : 1.0 + (double) acceptedTokens / drafts;
    }

    /** Accepted over verified draft tokens (the verification success rate); 0 when none. */
    public double acceptanceRate() {
        return verifiedDraftTokens == 0 ? 0.0 : (double) acceptedTokens / verifiedDraftTokens;
    }

    /** Verified draft tokens over the budget offered; 0 when no budget was offered. */
    public double budgetUtilisation() {
        return budget == 0 ? 0.0 : verifiedDraftTokens / budget;
    }

    /** Emitted tokens per sequence-round: tokens per target pass per sequence. */
    public double tokensPerSequenceRound() {
        return sequenceRounds == 0 ? 0.0 : (double) emittedTokens / sequenceRounds;
    }

    @Override
    public String toString() {
        return String.format(
                "SpeculationStats{rounds=%d, drafts=%d, draftTokens=%d, verified=%d, accepted=%d,"
                        + " emitted=%d, acceptanceRate=%.4f, meanAcceptanceLength=%.4f}",
                rounds,
                drafts,
                draftTokens,
                verifiedDraftTokens,
                acceptedTokens,
                emittedTokens,
                acceptanceRate(),
                meanAcceptanceLength());
    }
}
