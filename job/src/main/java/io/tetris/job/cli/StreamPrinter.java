package io.tetris.job.cli;

import io.tetris.job.kafka.ResponseListener;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.TokenEvent;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Prints answers as their token events arrive.
 *
 * <ul>
 *   <li>One request ({@code generate}): its text is appended as it streams.
 *   <li>Several requests on a terminal ({@code demo}): one live line per request, its prompt in
 *       bold and the latest completion text after it, redrawn in place; {@link #printTranscripts}
 *       prints every prompt and whole completion once the run is over.
 *   <li>Several requests elsewhere (a pipe, a file): each request is printed whole, prompt then
 *       completion, when it finishes, so answers never interleave.
 * </ul>
 */
final class StreamPrinter implements ResponseListener {

    private static final int WIDTH = 100;
    private static final String BOLD = "\u001b[1m";
    private static final String PLAIN = "\u001b[22m";
    private static final String INDENT = "    ";

    private final PrintStream out;
    private final boolean single;
    private final boolean live;
    private final Map<String, String> prompts;
    private final Map<String, StringBuilder> texts = new LinkedHashMap<>();
    private final Map<String, String> marks = new LinkedHashMap<>();
    private int drawn;

    private StreamPrinter(PrintStream out, Map<String, String> prompts, boolean live) {
        this.out = out;
        this.single = prompts.size() == 1;
        this.live = live && !single;
        this.prompts = prompts;
        prompts.keySet().forEach(id -> texts.put(id, new StringBuilder()));
    }

    /** Appends the one request's text as it streams. */
    static StreamPrinter streaming(PrintStream out, String id) {
        return new StreamPrinter(out, Map.of(id, ""), false);
    }

    /**
     * Shows several requests with their prompts.
     *
     * @param prompts prompt of each request id, in display order
     * @param live redraw one line per request in place (a terminal), else print each request whole
     *     when it finishes
     */
    static StreamPrinter transcript(PrintStream out, Map<String, String> prompts, boolean live) {
        return new StreamPrinter(out, new LinkedHashMap<>(prompts), live);
    }

    @Override
    public synchronized void onToken(TokenEvent event) {
        String id = event.getRequestId();
        StringBuilder text = texts.get(id);
        if (text == null) {
            return; // another client's request on the same topic
        }
        if (single) {
            out.print(event.getText());
            out.flush();
            return;
        }
        text.append(event.getText());
        if (event.getFinished()) {
            marks.put(id, "done");
        }
        if (live) {
            redraw();
        } else if (event.getFinished()) {
            printTranscript(id);
        }
    }

    @Override
    public synchronized void onError(GenerationError error) {
        String id = error.getRequestId();
        String line = "error " + error.getCode() + ": " + error.getMessage();
        if (id == null || !texts.containsKey(id) || single) {
            out.println((id == null ? "" : "[" + id + "] ") + line);
            out.flush();
            return;
        }
        marks.put(id, line);
        if (live) {
            redraw();
        } else {
            printTranscript(id);
        }
    }

    /** After a live view: every request's prompt and whole completion (or its error). */
    synchronized void printTranscripts() {
        if (!live) {
            return;
        }
        out.println();
        for (String id : texts.keySet()) {
            printTranscript(id);
        }
    }

    private void printTranscript(String id) {
        StringBuilder block = new StringBuilder();
        block.append('[').append(id).append("] ").append(prompts.get(id)).append('\n');
        String mark = marks.getOrDefault(id, "no answer yet");
        if (mark.startsWith("error")) {
            block.append(INDENT).append(mark).append('\n');
        } else {
            block.append(INDENT).append("→ ");
            block.append(texts.get(id).toString().replace("\n", "\n" + INDENT + "  "));
            block.append('\n');
        }
        out.print(block);
        out.flush();
    }

    private void redraw() {
        StringBuilder screen = new StringBuilder();
        if (drawn > 0) {
            screen.append("\u001b[").append(drawn).append('F'); // cursor up to the first line
        }
        for (Map.Entry<String, StringBuilder> e : texts.entrySet()) {
            String id = e.getKey();
            String mark = marks.containsKey(id) ? "  [" + marks.get(id) + "]" : "";
            String prompt = oneLine(prompts.get(id));
            String label = "[" + id + "] ";
            int room = Math.max(10, WIDTH - label.length() - prompt.length() - mark.length());
            String text = oneLine(e.getValue().toString());
            if (text.length() > room) {
                text = "…" + text.substring(text.length() - room + 1);
            }
            screen.append("\u001b[2K")
                    .append(label)
                    .append(BOLD)
                    .append(prompt)
                    .append(PLAIN)
                    .append(text)
                    .append(mark)
                    .append('\n');
        }
        drawn = texts.size();
        out.print(screen);
        out.flush();
    }

    private static String oneLine(String text) {
        return text.replace('\n', '⏎').replace('\t', ' ');
    }
}
