package io.tetris.measure;

import io.tetris.engine.Drafter;
import io.tetris.engine.Drafts;
import io.tetris.engine.SequenceView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Records a {@link Trace} from a finished workload: walks every request's known output position by
 * position and asks the draft model for a full window there, exactly as a round at that position
 * would (same caps, same per-position sampling noise); the target's verdict is whether each
 * proposed token matches the output, which is what greedy and coupled verification accept.
 */
public final class TraceRecorder {

    private static final int CHUNK = 64;

    private final BenchModels models;

    public TraceRecorder(BenchModels models) {
        this.models = models;
    }

    /**
     * @param outputs {@code [request][generated]} each request's output, end-of-text included where
     *     it ended on it (as {@link RunResult#outputs()})
     * @param maxDraft window length to record
     */
    public Trace record(
            Workload workload, int[][] outputs, int maxDraft, Consumer<String> progress) {
        List<Workload.Request> requests = workload.requests();
        int eos = models.tokenizer().endOfTextId();
        Drafter drafter = new Drafter(models.draft(), eos);
        Trace.Window[][] windows = new Trace.Window[requests.size()][];
        int longest = 0;
        for (int i = 0; i < requests.size(); i++) {
            windows[i] = new Trace.Window[outputs[i].length];
            longest = Math.max(longest, outputs[i].length);
        }
        for (int n = 0; n < longest; n++) {
            List<Integer> active = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                if (n < outputs[i].length) {
                    active.add(i);
                }
            }
            for (int from = 0; from < active.size(); from += CHUNK) {
                List<Integer> chunk = active.subList(from, Math.min(active.size(), from + CHUNK));
                List<SequenceView> views = new ArrayList<>(chunk.size());
                for (int i : chunk) {
                    views.add(view(requests.get(i), outputs[i], n, maxDraft));
                }
                Drafts drafts = drafter.draft(views, maxDraft);
                for (int c = 0; c < chunk.size(); c++) {
                    int i = chunk.get(c);
                    int[] proposed = drafts.tokens()[c];
                    int accept = 0;
                    while (accept < proposed.length
                            && n + accept < outputs[i].length
                            && proposed[accept] == outputs[i][n + accept]) {
                        accept++;
                    }
                    windows[i][n] = new Trace.Window(drafts.logProbs()[c].clone(), accept);
                }
            }
            if (progress != null && (n + 1) % 16 == 0) {
                progress.accept("trace: position " + (n + 1) + " of " + longest);
            }
        }
        List<Trace.Sequence> sequences = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            Workload.Request r = requests.get(i);
            models.draft().release(traceId(r));
            int[] out = outputs[i];
            boolean endedOnEos = out.length > 0 && out[out.length - 1] == eos;
            sequences.add(
                    new Trace.Sequence(
                            r.id(),
                            r.params().greedy() ? 0 : 1,
                            r.prompt().length,
                            endedOnEos ? out.length - 1 : out.length,
                            windows[i]));
        }
        return new Trace(maxDraft, sequences);
    }

    private SequenceView view(Workload.Request r, int[] output, int n, int maxDraft) {
        int[] context = Arrays.copyOf(r.prompt(), r.prompt().length + n);
        System.arraycopy(output, 0, context, r.prompt().length, n);
        int left = Math.min(r.maxNewTokens() - n, models.maxContext() - context.length);
        return new SequenceView(
                traceId(r),
                context,
                r.params(),
                r.seed(),
                1.0,
                Math.min(maxDraft, Math.max(0, left - 1)));
    }

    private static String traceId(Workload.Request r) {
        return "trace-" + r.id();
    }
}
