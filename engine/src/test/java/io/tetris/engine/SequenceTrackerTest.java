package io.tetris.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.model.BundledModels;
import io.tetris.model.ByteTokens;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.schemas.FinishReason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tests for {@link SequenceTracker}: stop conditions and the text clients are sent. */
class SequenceTrackerTest {

    private static final int EOT = 256;
    private static HuggingFaceTextTokenizer tokenizer;
    private static SequenceTracker tracker;

    @BeforeAll
    static void load() {
        tokenizer = HuggingFaceTextTokenizer.load(BundledModels.tokenizer());
        tracker = new SequenceTracker(tokenizer, 512);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void streamsTextDeltasAndCountsEvents() {
        SequenceState s = state(100);
        Progress first = merge(tracker.apply(s, ByteTokens.of("Hello"), 5));
        Progress second = merge(tracker.apply(s, ByteTokens.of(", world"), 9));
        assertThat(first.text()).isEqualTo("Hello");
        assertThat(first.tokenIds()).containsExactly(ByteTokens.of("Hello"));
        assertThat(second.text()).isEqualTo(", world");
        assertThat(second.finished()).isFalse();
        assertThat(s.eventsSent).isEqualTo(12); // one event per token with chunk size 1
        assertThat(s.firstTokenAtMs).isEqualTo(5);
        assertThat(s.generated).containsExactly(ByteTokens.of("Hello, world"));
    }

    @Test
    void holdsBackAnIncompleteCharacter() {
        SequenceState s = state(100);
        byte[] yen = "日".getBytes(StandardCharsets.UTF_8);
        Progress partial =
                merge(tracker.apply(s, new int[] {'a', yen[0] & 0xFF, yen[1] & 0xFF}, 1));
        assertThat(partial.text()).isEqualTo("a");
        assertThat(partial.tokenIds()).hasSize(3);
        Progress rest = merge(tracker.apply(s, new int[] {yen[2] & 0xFF, 'b'}, 2));
        assertThat(rest.text()).isEqualTo("日b");
    }

    @Test
    void endOfTextFinishesWithoutBecomingText() {
        SequenceState s = state(100);
        Progress p = merge(tracker.apply(s, new int[] {'o', 'k', EOT, 'x'}, 1));
        assertThat(p.finishReason()).isEqualTo(FinishReason.EOS);
        assertThat(p.text()).isEqualTo("ok");
        assertThat(s.generated).containsExactly('o', 'k');
    }

    @Test
    void maxNewTokensCutsTheRound() {
        SequenceState s = state(3);
        Progress p = merge(tracker.apply(s, ByteTokens.of("abcdef"), 1));
        assertThat(p.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(p.text()).isEqualTo("abc");
        assertThat(s.generated).hasSize(3);
    }

    @Test
    void contextLimitFinishesTheSequence() {
        SequenceTracker small = new SequenceTracker(tokenizer, 6);
        SequenceState s = state(100); // prompt of 2 tokens
        Progress p = merge(small.apply(s, ByteTokens.of("abcdef"), 1));
        assertThat(p.finishReason()).isEqualTo(FinishReason.CONTEXT_LIMIT);
        assertThat(s.generated).hasSize(4);
    }

    @Test
    void stopStringEndsTheTextAndIsNeverShown() {
        SequenceState s = state(100, "END");
        Progress first = merge(tracker.apply(s, ByteTokens.of("go E"), 1));
        assertThat(first.text()).isEqualTo("go "); // "E" could start "END"
        Progress second = merge(tracker.apply(s, ByteTokens.of("ND and more"), 2));
        assertThat(second.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(second.text()).isEmpty();
        assertThat(s.generated).containsExactly(ByteTokens.of("go END"));
        assertThat(tracker.finalText(s, FinishReason.STOP)).isEqualTo("go ");
    }

    @Test
    void aStopPrefixThatDoesNotCompleteIsReleased() {
        SequenceState s = state(100, "END");
        assertThat(merge(tracker.apply(s, ByteTokens.of("an E"), 1)).text()).isEqualTo("an ");
        assertThat(merge(tracker.apply(s, ByteTokens.of("Nx"), 2)).text()).isEqualTo("ENx");
    }

    @Test
    void concatenatedDeltasAlwaysEqualTheFinalText() {
        SplittableRandom random = new SplittableRandom(99);
        String alphabet = "ab \n.é日";
        for (int trial = 0; trial < 300; trial++) {
            String[] stops =
                    random.nextBoolean()
                            ? new String[] {randomText(random, alphabet, 1 + random.nextInt(3))}
                            : new String[0];
            SequenceState s = state(5 + random.nextInt(40), stops);
            StringBuilder streamed = new StringBuilder();
            FinishReason reason = null;
            while (reason == null) {
                byte[] chunk =
                        randomText(random, alphabet, 1 + random.nextInt(4))
                                .getBytes(StandardCharsets.UTF_8);
                int[] emitted = new int[Math.min(chunk.length, 1 + random.nextInt(5))];
                for (int i = 0; i < emitted.length; i++) {
                    emitted[i] = random.nextInt(50) == 0 ? EOT : chunk[i] & 0xFF;
                }
                Progress p = merge(tracker.apply(s, emitted, trial));
                streamed.append(p.text());
                reason = p.finishReason();
            }
            assertThat(streamed.toString())
                    .as("trial %d", trial)
                    .isEqualTo(tracker.finalText(s, reason));
            assertThat(streamed.toString()).doesNotContain("\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
        }
    }

    @Test
    void eventsAreCutByTokenPositionNotByRound() {
        SequenceTracker chunked = new SequenceTracker(tokenizer, 512, 4);
        int[] stream = ByteTokens.of("abcdefghijk");
        // The same tokens arriving in different round sizes give the same events.
        List<String> byOnes = new ArrayList<>();
        List<String> byThrees = new ArrayList<>();
        SequenceState a = state(100);
        SequenceState b = state(100);
        for (int i = 0; i < stream.length; i++) {
            chunked.apply(a, new int[] {stream[i]}, 1).forEach(e -> byOnes.add(describe(e)));
        }
        for (int i = 0; i < stream.length; i += 3) {
            int[] round = java.util.Arrays.copyOfRange(stream, i, Math.min(i + 3, stream.length));
            chunked.apply(b, round, 1).forEach(e -> byThrees.add(describe(e)));
        }
        chunked.apply(a, new int[] {EOT}, 2).forEach(e -> byOnes.add(describe(e)));
        chunked.apply(b, new int[] {EOT}, 2).forEach(e -> byThrees.add(describe(e)));
        assertThat(byOnes).isEqualTo(byThrees);
        assertThat(byOnes)
                .containsExactly(
                        "0:[97, 98, 99, 100]:abcd:null",
                        "1:[101, 102, 103, 104]:efgh:null",
                        "2:[105, 106, 107]:ijk:EOS");
    }

    private static String describe(Progress e) {
        return e.seq()
                + ":"
                + java.util.Arrays.toString(e.tokenIds())
                + ":"
                + e.text()
                + ":"
                + e.finishReason();
    }

    /** One round's events as one: tokens and text concatenated, the last finish reason. */
    private static Progress merge(List<Progress> events) {
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        FinishReason reason = null;
        for (Progress e : events) {
            for (int id : e.tokenIds()) {
                ids.add(id);
            }
            text.append(e.text());
            reason = e.finishReason();
        }
        return new Progress(
                ids.stream().mapToInt(Integer::intValue).toArray(), text.toString(), reason, -1);
    }

    @Test
    void aCompletionKeepsTheSpaceItStartsWithUnderADecoderThatStripsOne() {
        // Llama 2 style: "▁man" decoded on its own is "man"; after the prompt it is " man".
        try (HuggingFaceTextTokenizer llama =
                HuggingFaceTextTokenizer.load(
                        BundledModels.llama("fp32").resolve("tokenizer.json"))) {
            int[] prompt = llama.encode("Never trust a");
            int[] whole = llama.encode("Never trust a man who is");
            assertThat(Arrays.copyOf(whole, prompt.length)).containsExactly(prompt);
            int[] completion = Arrays.copyOfRange(whole, prompt.length, whole.length);
            assertThat(llama.decode(completion)).isEqualTo("man who is");
            SequenceTracker llamaTracker = new SequenceTracker(llama, 512);
            SequenceState s = state(100);
            s.promptTokens = prompt;
            StringBuilder streamed = new StringBuilder();
            for (int token : completion) {
                llamaTracker.apply(s, new int[] {token}, 1).forEach(p -> streamed.append(p.text()));
            }
            assertThat(streamed.toString()).isEqualTo(" man who is");
            assertThat(llamaTracker.finalText(s, FinishReason.LENGTH)).isEqualTo(" man who is");
        }
    }

    private static SequenceState state(int maxNew, String... stops) {
        SequenceState s = new SequenceState();
        s.requestId = "r";
        s.promptTokens = new int[] {'>', ' '};
        s.maxNewTokens = maxNew;
        s.stop = stops;
        return s;
    }

    private static String randomText(SplittableRandom random, String alphabet, int length) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
