package io.tetris.job.cli;

import io.tetris.job.kafka.ResponseListener;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.TokenEvent;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints answers as their token events arrive. On a terminal with several requests it keeps one
 * live line per request and redraws them in place; otherwise (a pipe, a file, one request) it
 * appends text, starting a labelled line whenever the request changes.
 */
final class StreamPrinter implements ResponseListener {

    private static final int WIDTH = 100;

    private final PrintStream out;
    private final boolean labelled;
    private final boolean live;
    private final Map<String, StringBuilder> lines = new LinkedHashMap<>();
    private final Map<String, String> marks = new LinkedHashMap<>();
    private String current;
    private int drawn;

    /**
     * @param ids the requests to show in a live view, in order; empty to append text instead
     */
    StreamPrinter(PrintStream out, List<String> ids) {
        this.out = out;
        this.labelled = ids.size() != 1;
        this.live = System.console() != null && ids.size() > 1;
        ids.forEach(id -> lines.put(id, new StringBuilder()));
    }

    @Override
    public synchronized void onToken(TokenEvent event) {
        String id = event.getRequestId();
        if (live && lines.containsKey(id)) {
            lines.get(id).append(event.getText());
            if (event.getFinished()) {
                marks.put(id, " ⏹");
            }
            redraw();
            return;
        }
        if (labelled && !id.equals(current)) {
            out.print((current == null ? "" : "\n") + "[" + id + "] ");
            current = id;
        }
        out.print(event.getText());
        if (event.getFinished() && labelled) {
            out.print(" ⏹");
        }
        out.flush();
    }

    @Override
    public synchronized void onError(GenerationError error) {
        String id = error.getRequestId();
        if (live && id != null && lines.containsKey(id)) {
            marks.put(id, " error " + error.getCode() + ": " + error.getMessage());
            redraw();
            return;
        }
        out.print(
                (current == null ? "" : "\n")
                        + "["
                        + id
                        + "] error "
                        + error.getCode()
                        + ": "
                        + error.getMessage());
        current = null;
        out.println();
        out.flush();
    }

    private void redraw() {
        StringBuilder screen = new StringBuilder();
        if (drawn > 0) {
            screen.append("\u001b[").append(drawn).append('F'); // cursor up to the first line
        }
        for (Map.Entry<String, StringBuilder> e : lines.entrySet()) {
            String text = e.getValue().toString().replace('\n', '⏎').replace('\t', ' ');
            String mark = marks.getOrDefault(e.getKey(), "");
            String label = "[" + e.getKey() + "] ";
            int room = Math.max(10, WIDTH - label.length() - mark.length());
            if (text.length() > room) {
                text = "…" + text.substring(text.length() - room + 1);
            }
            screen.append("\u001b[2K").append(label).append(text).append(mark).append('\n');
        }
        drawn = lines.size();
        out.print(screen);
        out.flush();
    }
}
