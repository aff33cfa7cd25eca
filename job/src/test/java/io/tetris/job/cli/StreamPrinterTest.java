package io.tetris.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.TokenEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamPrinterTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    @Test
    void withoutATerminalEachRequestIsPrintedWholeWithItsPromptWhenItFinishes() {
        Map<String, String> prompts = new LinkedHashMap<>();
        prompts.put("a", "The quick brown fox");
        prompts.put("b", "Once upon a time");
        prompts.put("c", "Hello");
        StreamPrinter printer = StreamPrinter.transcript(out, prompts, false);

        printer.onToken(event("a", 0, " jumps", false));
        printer.onToken(event("b", 0, " there", false));
        printer.onToken(event("a", 1, " over\nthe dog", true));
        printer.onError(
                GenerationError.newBuilder()
                        .setRequestId("c")
                        .setCode(ErrorCode.PROMPT_TOO_LONG)
                        .setMessage("too long")
                        .setAtMs(0)
                        .build());
        printer.onToken(event("b", 1, " was a fox", true));
        printer.printTranscripts(); // prints nothing more: each was printed when it finished

        assertThat(text())
                .isEqualTo(
                        String.join(
                                "\n",
                                "[a] The quick brown fox",
                                "    →  jumps over",
                                "      the dog",
                                "[c] Hello",
                                "    error PROMPT_TOO_LONG: too long",
                                "[b] Once upon a time",
                                "    →  there was a fox",
                                ""));
    }

    @Test
    void onATerminalItRedrawsOneLinePerRequestWithThePromptThenPrintsTheTranscripts() {
        Map<String, String> prompts = new LinkedHashMap<>();
        prompts.put("a", "The quick brown fox");
        prompts.put("b", "Once upon a time");
        StreamPrinter printer = StreamPrinter.transcript(out, prompts, true);

        printer.onToken(event("a", 0, " jumps", false));
        printer.onToken(event("b", 0, " there", true));
        String live = text();
        assertThat(live).contains("\u001b[2F"); // back up over both lines to redraw them
        assertThat(live).contains("[a] \u001b[1mThe quick brown fox\u001b[22m jumps\n");
        assertThat(live).contains("[b] \u001b[1mOnce upon a time\u001b[22m there  [done]\n");

        printer.onToken(event("a", 1, " over", true));
        printer.printTranscripts();
        assertThat(text().substring(live.length()))
                .endsWith(
                        "\n[a] The quick brown fox\n    →  jumps over\n"
                                + "[b] Once upon a time\n    →  there\n");
    }

    @Test
    void oneRequestStreamsItsTextAsItArrives() {
        StreamPrinter printer = StreamPrinter.streaming(out, "g");
        printer.onToken(event("g", 0, "Hel", false));
        assertThat(text()).isEqualTo("Hel");
        printer.onToken(event("other", 0, "not mine", false));
        printer.onToken(event("g", 1, "lo", true));
        assertThat(text()).isEqualTo("Hello");
    }

    @Test
    void theTablePreviewIsOneShortLine() {
        assertThat(Summary.preview("a\nb")).isEqualTo("a⏎b");
        assertThat(Summary.preview("x".repeat(40))).hasSize(32).endsWith("…");
    }

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static TokenEvent event(String id, int seq, String text, boolean finished) {
        return TokenEvent.newBuilder()
                .setRequestId(id)
                .setSeq(seq)
                .setTokenIds(List.of())
                .setText(text)
                .setFinished(finished)
                .build();
    }
}
