package io.tetris.operators.loop;

import io.tetris.engine.Progress;
import io.tetris.engine.SequenceState;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationRequest;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SpeculationStats;
import io.tetris.schemas.Timings;
import io.tetris.schemas.TokenEvent;
import io.tetris.schemas.Usage;
import java.util.ArrayList;
import java.util.List;

/** Conversions between the Kafka contracts and the loop's sequence state. */
final class Records {

    private Records() {}

    static SequenceState newSequence(GenerationRequest request, long order, long nowMs) {
        SequenceState s = new SequenceState();
        s.requestId = request.getRequestId();
        s.promptTokens = toArray(request.getPromptTokenIds());
        s.maxNewTokens = request.getMaxNewTokens();
        s.temperature = request.getTemperature();
        s.topP = request.getTopP();
        s.topK = request.getTopK();
        s.seed = request.getSeed();
        s.priority = request.getPriority();
        s.stop = request.getStop().toArray(new String[0]);
        s.maxDraftTokens = request.getMaxDraftTokens();
        s.logprobs = request.getLogprobs();
        s.receivedAtMs = nowMs;
        s.order = order;
        return s;
    }

    /**
     * The event for {@code progress}, whose tokens are {@code s.generated} from {@code first} on.
     */
    static TokenEvent tokenEvent(SequenceState s, Progress progress, int first) {
        return TokenEvent.newBuilder()
                .setRequestId(s.requestId)
                .setSeq(progress.seq())
                .setTokenIds(toList(progress.tokenIds()))
                .setLogprobs(
                        s.logprobs
                                ? toFloatList(
                                        s.generatedLogprobs, first, progress.tokenIds().length)
                                : List.of())
                .setText(progress.text())
                .setFinished(progress.finished())
                .setFinishReason(progress.finishReason())
                .build();
    }

    static GenerationResult result(
            SequenceState s, String text, FinishReason reason, String policy, long nowMs) {
        io.tetris.core.SpeculationStats c = s.speculation();
        return GenerationResult.newBuilder()
                .setRequestId(s.requestId)
                .setText(text)
                .setTokenIds(toList(s.generated))
                .setLogprobs(
                        s.logprobs
                                ? toFloatList(s.generatedLogprobs, 0, s.generated.length)
                                : List.of())
                .setFinishReason(reason)
                .setPolicy(policy)
                .setUsage(
                        Usage.newBuilder()
                                .setPromptTokens(s.promptTokens.length)
                                .setCompletionTokens(s.generated.length)
                                .build())
                .setSpeculation(
                        SpeculationStats.newBuilder()
                                .setRounds(c.rounds())
                                .setDrafts(c.drafts())
                                .setDraftTokens(c.draftTokens())
                                .setVerifiedDraftTokens(c.verifiedDraftTokens())
                                .setAcceptedTokens(c.acceptedTokens())
                                .setAcceptedPerPosition(toLongList(c.acceptedPerPosition()))
                                .setMeanAcceptanceLength(c.meanAcceptanceLength())
                                .setAcceptanceRate(c.acceptanceRate())
                                .setBudgetUtilization(c.budgetUtilisation())
                                .build())
                .setTimings(
                        Timings.newBuilder()
                                .setReceivedAtMs(s.receivedAtMs)
                                .setFirstTokenAtMs(s.firstTokenAtMs)
                                .setFinishedAtMs(nowMs)
                                .setQueueMs(Math.max(0, s.admittedAtMs - s.receivedAtMs))
                                .setTimeToFirstTokenMs(
                                        s.firstTokenAtMs == 0
                                                ? 0
                                                : s.firstTokenAtMs - s.receivedAtMs)
                                .setTotalMs(nowMs - s.receivedAtMs)
                                .build())
                .build();
    }

    private static int[] toArray(List<Integer> values) {
        int[] out = new int[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    private static List<Integer> toList(int[] values) {
        List<Integer> out = new ArrayList<>(values.length);
        for (int v : values) {
            out.add(v);
        }
        return out;
    }

    /** {@code values[from, from + n)}, as far as {@code values} reaches. */
    private static List<Float> toFloatList(float[] values, int from, int n) {
        List<Float> list = new ArrayList<>(n);
        for (int i = from; i < Math.min(values.length, from + n); i++) {
            list.add(values[i]);
        }
        return list;
    }

    private static List<Long> toLongList(long[] values) {
        List<Long> out = new ArrayList<>(values.length);
        for (long v : values) {
            out.add(v);
        }
        return out;
    }
}
