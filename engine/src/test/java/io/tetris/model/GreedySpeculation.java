package io.tetris.model;

import io.tetris.core.LogitsTransform;
import io.tetris.core.SpeculativeSampling;
import io.tetris.model.LanguageModel.Extension;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Batched greedy speculative decoding built from the core and two {@link LanguageModel}s, the way
 * the draft and verify operators will drive them: each model's cache holds a prefix of the
 * committed tokens, a round feeds whatever committed tokens the cache lacks, and rejected tokens
 * are rolled back with {@link LanguageModel#truncate}.
 */
final class GreedySpeculation {

    /** What a batch generation produced. */
    record Outcome(List<int[]> generated, long drafted, long accepted, long targetCalls) {
        double acceptance() {
            return drafted == 0 ? 0 : (double) accepted / drafted;
        }
    }

    private final LanguageModel draft;
    private final LanguageModel target;
    private final int endOfText;

    GreedySpeculation(LanguageModel draft, LanguageModel target, int endOfText) {
        this.draft = draft;
        this.target = target;
        this.endOfText = endOfText;
    }

    /**
     * Generates up to {@code maxNew} tokens per prompt (stopping after end-of-text) with window
     * {@code k}; {@code k = 0} is target-only greedy decoding.
     */
    Outcome generate(List<int[]> prompts, int k, int maxNew, String idPrefix) {
        int n = prompts.size();
        List<List<Integer>> committed = new ArrayList<>();
        List<int[]> generated = new ArrayList<>();
        int[] promptLength = new int[n];
        boolean[] done = new boolean[n];
        for (int i = 0; i < n; i++) {
            committed.add(new ArrayList<>(toList(prompts.get(i))));
            promptLength[i] = prompts.get(i).length;
        }
        long drafted = 0;
        long accepted = 0;
        long targetCalls = 0;
        while (!allDone(done)) {
            int[][] drafts = new int[n][]; // [batch][drafted_i]
            for (int i = 0; i < n; i++) {
                int remaining = maxNew - (committed.get(i).size() - promptLength[i]);
                drafts[i] = new int[done[i] ? 0 : Math.min(k, remaining)];
            }
            draftTokens(committed, drafts, done, idPrefix);
            List<Extension> verify = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int[] pending = pending(target, id(idPrefix, i), committed.get(i));
                verify.add(
                        new Extension(
                                id(idPrefix, i),
                                done[i] ? new int[0] : concat(pending, drafts[i])));
            }
            float[][][] rows = target.extend(verify);
            targetCalls++;
            for (int i = 0; i < n; i++) {
                if (done[i]) {
                    continue;
                }
                int d = drafts[i].length;
                int[] argmax = new int[d + 1];
                for (int j = 0; j <= d; j++) {
                    argmax[j] = LogitsTransform.argmax(rows[i][rows[i].length - d - 1 + j]);
                }
                int[] out = SpeculativeSampling.verifyGreedy(argmax, drafts[i]);
                drafted += d;
                accepted += out.length - 1;
                List<Integer> c = committed.get(i);
                int before = c.size();
                for (int token : out) {
                    if (c.size() - promptLength[i] >= maxNew) {
                        break;
                    }
                    c.add(token);
                    if (token == endOfText) {
                        break;
                    }
                }
                int keep = before + out.length - 1;
                target.truncate(
                        id(idPrefix, i), Math.min(target.cachedLength(id(idPrefix, i)), keep));
                draft.truncate(
                        id(idPrefix, i), Math.min(draft.cachedLength(id(idPrefix, i)), keep));
                if (c.get(c.size() - 1) == endOfText || c.size() - promptLength[i] >= maxNew) {
                    done[i] = true;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            List<Integer> c = committed.get(i);
            generated.add(
                    c.subList(promptLength[i], c.size()).stream()
                            .mapToInt(Integer::intValue)
                            .toArray());
            draft.release(id(idPrefix, i));
            target.release(id(idPrefix, i));
        }
        return new Outcome(generated, drafted, accepted, targetCalls);
    }

    /** Fills {@code drafts[i]} greedily, one batched draft step per position. */
    private void draftTokens(
            List<List<Integer>> committed, int[][] drafts, boolean[] done, String idPrefix) {
        int n = drafts.length;
        int longest = Arrays.stream(drafts).mapToInt(d -> d.length).max().orElse(0);
        int[] length = new int[n]; // drafted so far; may stop early after end-of-text
        boolean[] stopped = new boolean[n];
        for (int step = 0; step < longest; step++) {
            List<Extension> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                boolean active = !done[i] && !stopped[i] && step < drafts[i].length;
                int[] tokens;
                if (!active) {
                    tokens = new int[0];
                } else if (step == 0) {
                    tokens = pending(draft, id(idPrefix, i), committed.get(i));
                } else {
                    tokens = new int[] {drafts[i][step - 1]};
                }
                batch.add(new Extension(id(idPrefix, i), tokens));
            }
            float[][][] rows = draft.extend(batch);
            for (int i = 0; i < n; i++) {
                if (rows[i].length == 0) {
                    continue;
                }
                int token = LogitsTransform.argmax(rows[i][rows[i].length - 1]);
                drafts[i][step] = token;
                length[i] = step + 1;
                if (token == endOfText) {
                    stopped[i] = true;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            drafts[i] = Arrays.copyOf(drafts[i], Math.min(drafts[i].length, length[i]));
        }
    }

    /** Committed tokens the model's cache lacks (always at least the last one). */
    private static int[] pending(LanguageModel model, String id, List<Integer> committed) {
        int cached = model.cachedLength(id);
        return committed.subList(cached, committed.size()).stream()
                .mapToInt(Integer::intValue)
                .toArray();
    }

    private static String id(String prefix, int i) {
        return prefix + "-" + i;
    }

    private static boolean allDone(boolean[] done) {
        for (boolean d : done) {
            if (!d) {
                return false;
            }
        }
        return true;
    }

    private static List<Integer> toList(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
