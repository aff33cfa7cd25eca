package io.tetris.measure;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A recorded workload for the simulator: for every request, at every output position, the draft
 * window the draft model proposes there (its per-token log-probabilities) and how many of those
 * tokens the target accepts.
 *
 * <p>This is exact for any policy, not only the one that ran: greedy decoding and coupled sampling
 * make each request's output, and the draft window at each position, independent of the schedule,
 * and a policy verifying {@code l} tokens of a window accepts {@code min(l, acceptLength)}.
 *
 * @param maxDraft the longest window recorded
 * @param sequences in workload order
 */
public record Trace(int maxDraft, List<Sequence> sequences) {

    private static final String HEADER = "# tetris-flink trace v1";

    /**
     * One request.
     *
     * @param id request id
     * @param group calibration group: 0 greedy, 1 sampled
     * @param promptLength prompt tokens
     * @param outputTokens tokens it generates, end-of-text excluded
     * @param windows {@code [position]} the window at each position of its output (end-of-text
     *     included), so the request is done once its position reaches {@code windows.length}
     */
    public record Sequence(
            String id, int group, int promptLength, int outputTokens, Window[] windows) {}

    /**
     * The draft window at one position.
     *
     * @param logProbs {@code [drafted]} draft log-probabilities of the proposed tokens
     * @param acceptLength leading proposed tokens the target accepts
     */
    public record Window(double[] logProbs, int acceptLength) {
        public Window {
            if (acceptLength < 0 || acceptLength > logProbs.length) {
                throw new IllegalArgumentException(
                        "accept length " + acceptLength + " outside [0, " + logProbs.length + "]");
            }
        }
    }

    public Trace {
        sequences = List.copyOf(sequences);
    }

    /** Total output tokens of the workload. */
    public long outputTokens() {
        return sequences.stream().mapToLong(Sequence::outputTokens).sum();
    }

    /** Writes the trace as text: a header, then a line per sequence followed by its windows. */
    public void save(Path file) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write(HEADER + "\n");
            out.write("max-draft " + maxDraft + "\n");
            for (Sequence s : sequences) {
                out.write(
                        String.format(
                                Locale.ROOT,
                                "seq %s %d %d %d %d%n",
                                s.id(),
                                s.group(),
                                s.promptLength(),
                                s.outputTokens(),
                                s.windows().length));
                for (Window w : s.windows()) {
                    StringBuilder line = new StringBuilder("w ").append(w.acceptLength());
                    for (double lp : w.logProbs()) {
                        line.append(' ').append(String.format(Locale.ROOT, "%.6g", lp));
                    }
                    out.write(line.append('\n').toString());
                }
            }
        }
    }

    /** Reads a trace written by {@link #save}; a malformed file fails naming the line. */
    public static Trace load(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 1;
            String line = in.readLine();
            if (!HEADER.equals(line)) {
                throw malformed(file, lineNo, "expected '" + HEADER + "'");
            }
            lineNo++;
            String[] head = split(in.readLine(), file, lineNo, "max-draft", 2);
            int maxDraft = parseInt(head[1], file, lineNo);
            List<Sequence> sequences = new ArrayList<>();
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String[] f = split(line, file, lineNo, "seq", 6);
                int count = parseInt(f[5], file, lineNo);
                Window[] windows = new Window[count];
                for (int w = 0; w < count; w++) {
                    lineNo++;
                    String[] g = split(in.readLine(), file, lineNo, "w", -1);
                    double[] lps = new double[g.length - 2];
                    try {
                        for (int j = 0; j < lps.length; j++) {
                            lps[j] = Double.parseDouble(g[j + 2]);
                        }
                        windows[w] = new Window(lps, parseInt(g[1], file, lineNo));
                    } catch (IllegalArgumentException e) {
                        throw malformed(file, lineNo, e.getMessage());
                    }
                }
                sequences.add(
                        new Sequence(
                                f[1],
                                parseInt(f[2], file, lineNo),
                                parseInt(f[3], file, lineNo),
                                parseInt(f[4], file, lineNo),
                                windows));
            }
            return new Trace(maxDraft, sequences);
        }
    }

    private static String[] split(String line, Path file, int lineNo, String tag, int fields) {
        if (line == null) {
            throw malformed(file, lineNo, "unexpected end of file, expected '" + tag + "'");
        }
        String[] f = line.trim().split(" +");
        if (!f[0].equals(tag) || (fields > 0 ? f.length != fields : f.length < 2)) {
            throw malformed(file, lineNo, "expected a '" + tag + "' line, got '" + line + "'");
        }
        return f;
    }

    private static int parseInt(String value, Path file, int lineNo) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw malformed(file, lineNo, "'" + value + "' is not an integer");
        }
    }

    private static IllegalArgumentException malformed(Path file, int lineNo, String why) {
        return new IllegalArgumentException(file + ":" + lineNo + ": " + why);
    }
}
