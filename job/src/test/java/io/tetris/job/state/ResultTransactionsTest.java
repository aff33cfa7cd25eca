package io.tetris.job.state;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ResultTransactionsTest {

    @Test
    void readsTheCheckpointOfTheSinksTransactionalIdsAndNothingElse() {
        assertThat(ResultTransactions.checkpointOf("job-results-0-17", "job-results"))
                .isEqualTo(17);
        assertThat(ResultTransactions.checkpointOf("job-results-3-2", "job-results")).isEqualTo(2);
        // Another job whose prefix starts the same, a foreign producer, a malformed id.
        assertThat(ResultTransactions.checkpointOf("job-results-x-0-17", "job-results"))
                .isEqualTo(-1);
        assertThat(ResultTransactions.checkpointOf("other-0-17", "job-results")).isEqualTo(-1);
        assertThat(ResultTransactions.checkpointOf("job-results-0-x", "job-results")).isEqualTo(-1);
        assertThat(ResultTransactions.checkpointOf("job-results-17", "job-results")).isEqualTo(-1);
    }
}
