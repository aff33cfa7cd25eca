package io.tetris.schemas;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Records with every field set to a non-default value, so round trips cover each field. */
final class Samples {

    private Samples() {}

    static GenerationRequest request() {
        return GenerationRequest.newBuilder()
                .setRequestId("req-1")
                .setPrompt("Once upon a time, ünïcödé 🚀")
                .setPromptTokenIds(List.of(1, 2, 300))
                .setMaxNewTokens(32)
                .setTemperature(0.7f)
                .setTopP(0.9f)
                .setTopK(40)
                .setSeed(-42L)
                .setStop(List.of("\n", "THE END"))
                .setPriority(2.5)
                .setCreatedAtMs(1_700_000_000_000L)
                .build();
    }

    static TokenEvent tokenEvent() {
        return TokenEvent.newBuilder()
                .setRequestId("req-1")
                .setSeq(3)
                .setTokenIds(List.of(17, 18))
                .setText(" wör")
                .setFinished(true)
                .setFinishReason(FinishReason.STOP)
                .build();
    }

    static GenerationResult result() {
        return GenerationResult.newBuilder()
                .setRequestId("req-1")
                .setText("there was a cat 🐈")
                .setTokenIds(List.of(5, 6, 7, 8))
                .setFinishReason(FinishReason.EOS)
                .setUsage(Usage.newBuilder().setPromptTokens(12).setCompletionTokens(4).build())
                .setSpeculation(
                        SpeculationStats.newBuilder()
                                .setRounds(3)
                                .setDrafts(2)
                                .setDraftTokens(10)
                                .setVerifiedDraftTokens(6)
                                .setAcceptedTokens(4)
                                .setAcceptedPerPosition(List.of(2L, 1L, 1L))
                                .setMeanAcceptanceLength(3.0)
                                .setAcceptanceRate(4.0 / 6.0)
                                .setBudgetUtilization(0.75)
                                .build())
                .setTimings(
                        Timings.newBuilder()
                                .setReceivedAtMs(1000)
                                .setFirstTokenAtMs(1010)
                                .setFinishedAtMs(1050)
                                .setQueueMs(3)
                                .setTimeToFirstTokenMs(10)
                                .setTotalMs(50)
                                .build())
                .setPolicy("tetris")
                .build();
    }

    static GenerationError error() {
        return GenerationError.newBuilder()
                .setRequestId("req-1")
                .setCode(ErrorCode.INVALID_TOP_P)
                .setMessage("top_p must be in (0, 1], got 1.5")
                .setPayload(ByteBuffer.wrap("{\"top_p\":1.5}".getBytes(StandardCharsets.UTF_8)))
                .setPayloadSize(13)
                .setAtMs(1234)
                .build();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
