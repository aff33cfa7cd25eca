package io.tetris.job.kafka;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SpeculationStats;
import io.tetris.schemas.Timings;
import io.tetris.schemas.TokenEvent;
import io.tetris.schemas.Usage;
import java.util.List;

/** Small records for the Kafka tests. */
final class Records {

    private Records() {}

    static GenerationRequest request(String id, String prompt) {
        return GenerationRequest.newBuilder()
                .setRequestId(id)
                .setPrompt(prompt)
                .setMaxNewTokens(8)
                .build();
    }

    static TokenEvent token(String id, int seq, boolean finished) {
        return TokenEvent.newBuilder()
                .setRequestId(id)
                .setSeq(seq)
                .setTokenIds(List.of(100 + seq))
                .setText("t" + seq)
                .setFinished(finished)
                .setFinishReason(finished ? FinishReason.LENGTH : null)
                .build();
    }

    static GenerationResult result(String id, String text) {
        return GenerationResult.newBuilder()
                .setRequestId(id)
                .setText(text)
                .setTokenIds(List.of(1, 2))
                .setFinishReason(FinishReason.LENGTH)
                .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(2).build())
                .setSpeculation(SpeculationStats.newBuilder().build())
                .setTimings(Timings.newBuilder().build())
                .setPolicy("tetris")
                .build();
    }

    static GenerationError error(String id, ErrorCode code, byte[] payload) {
        return new ErrorRecords().of(code, code + " for the test", id, payload, 1234L);
    }
}
