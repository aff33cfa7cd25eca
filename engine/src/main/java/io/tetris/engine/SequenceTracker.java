package io.tetris.engine;

import io.tetris.model.TextTokenizer;
import io.tetris.schemas.FinishReason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Applies verified tokens to a {@link SequenceState} and decides what clients see: stop conditions
 * (end-of-text, stop strings, max new tokens, model context) and UTF-8-safe text deltas that never
 * reveal the beginning of a stop string before it is known not to be one.
 *
 * <p>Stop strings follow vLLM: the text ends before the stop string, the token ids end with the
 * token that completed it. Text is recomputed from the generated tokens each round, which keeps the
 * state to three counters and makes replays after a restore produce identical events.
 */
public final class SequenceTracker {

    private static final char REPLACEMENT = '\uFFFD';

    private final TextTokenizer tokenizer;
    private final int endOfText;
    private final int maxContext;
    private final int chunkSize;

    public SequenceTracker(TextTokenizer tokenizer, int maxContext) {
        this(tokenizer, maxContext, 1);
    }

    /**
     * @param chunkSize tokens per token event (the last event of a sequence may hold fewer)
     */
    public SequenceTracker(TextTokenizer tokenizer, int maxContext, int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunk size must be >= 1, was " + chunkSize);
        }
        this.tokenizer = tokenizer;
        this.endOfText = tokenizer.endOfTextId();
        this.maxContext = maxContext;
        this.chunkSize = chunkSize;
    }

    /**
     * Appends a round's emitted tokens (accepted drafts plus one) and returns the token events this
     * completes, in order; the state's counters advance as if they were sent.
     *
     * <p>Event {@code n} covers stream positions {@code [n c, (n + 1) c)} for chunk size {@code c},
     * where the stream is the generated tokens plus one position for a finishing end-of-text; the
     * event holding the finishing position is the last and says why. Events are therefore a
     * function of the tokens alone, not of how rounds grouped them, and a replay after a restore
     * repeats each (request_id, seq) with the same content.
     */
    public List<Progress> apply(SequenceState s, int[] emitted, long nowMs) {
        int before = s.generated.length;
        int[] tokens = Arrays.copyOf(s.generated, before + emitted.length);
        int count = before;
        FinishReason reason = null;
        for (int token : emitted) {
            if (token == endOfText) {
                reason = FinishReason.EOS;
                break;
            }
            tokens[count++] = token;
            if (count >= s.maxNewTokens) {
                reason = FinishReason.LENGTH;
                break;
            }
            if (s.promptTokens.length + count >= maxContext) {
                reason = FinishReason.CONTEXT_LIMIT;
                break;
            }
        }
        tokens = Arrays.copyOf(tokens, count);
        Context context = context(s);
        String text = context.decode(tokens);
        int stopAt = -1;
        if (s.stop.length > 0) {
            int[] hit = findStop(s, context, tokens, before, text);
            if (hit != null) {
                stopAt = hit[0];
                tokens = Arrays.copyOf(tokens, hit[1]);
                reason = FinishReason.STOP;
            }
        }
        if (count > before && s.firstTokenAtMs == 0) {
            s.firstTokenAtMs = nowMs;
        }
        s.generated = tokens;

        String finalVisible =
                reason == FinishReason.STOP
                        ? text.substring(0, stopAt)
                        : reason != null ? text : null;
        // Stream positions: the tokens, plus one for an end-of-text that finished the sequence.
        int end = tokens.length + (reason == FinishReason.EOS ? 1 : 0);
        List<Progress> events = new ArrayList<>();
        int lastChunk = reason == null ? -1 : Math.max(0, end - 1) / chunkSize;
        while (reason != null ? s.eventsSent <= lastChunk : (s.eventsSent + 1) * chunkSize <= end) {
            boolean last = s.eventsSent == lastChunk;
            int upTo = Math.min((s.eventsSent + 1) * chunkSize, tokens.length);
            String visible;
            if (last) {
                visible = finalVisible;
            } else {
                String prefix = context.decode(Arrays.copyOf(tokens, upTo));
                visible = prefix.substring(0, safeLength(prefix, s.stop));
            }
            String delta = visible.length() > s.charsSent ? visible.substring(s.charsSent) : "";
            int from = Math.min(s.tokensSent, upTo);
            events.add(
                    new Progress(
                            Arrays.copyOfRange(tokens, from, upTo),
                            delta,
                            last ? reason : null,
                            s.eventsSent));
            s.eventsSent++;
            s.tokensSent = upTo;
            s.charsSent += delta.length();
        }
        return events;
    }

    /** Full text of the sequence as finished (what the result carries). */
    public String finalText(SequenceState s, FinishReason reason) {
        String text = context(s).decode(s.generated);
        if (reason == FinishReason.STOP) {
            for (String stop : s.stop) {
                int at = text.indexOf(stop);
                if (at >= 0) {
                    text = text.substring(0, at);
                }
            }
        }
        return text;
    }

    /**
     * Earliest stop string completed by this round's tokens: {@code {char index, tokens through the
     * completing token}}, or null.
     */
    private int[] findStop(
            SequenceState s, Context context, int[] tokens, int before, String text) {
        int earliest = -1;
        for (String stop : s.stop) {
            int at = stop.isEmpty() ? -1 : text.indexOf(stop);
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
            }
        }
        if (earliest < 0) {
            return null;
        }
        String matched = null;
        for (String stop : s.stop) {
            if (!stop.isEmpty()
                    && text.startsWith(stop, earliest)
                    && (matched == null || stop.length() > matched.length())) {
                matched = stop;
            }
        }
        for (int m = Math.max(before, 1); m <= tokens.length; m++) {
            if (context.decode(Arrays.copyOf(tokens, m)).startsWith(matched, earliest)) {
                return new int[] {earliest, m};
            }
        }
        return new int[] {earliest, tokens.length};
    }

    /**
     * How much of {@code text} may be shown while running: not a trailing incomplete character
     * (U+FFFD), and not a suffix that could still grow into a stop string.
     */
    static int safeLength(String text, String[] stops) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == REPLACEMENT) {
            end--;
        }
        int hold = 0;
        for (String stop : stops) {
            for (int len = Math.min(stop.length() - 1, end); len > hold; len--) {
                if (text.regionMatches(end - len, stop, 0, len)) {
                    hold = len;
                    break;
                }
            }
        }
        end -= hold;
        // Never split a surrogate pair.
        if (end > 0 && Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return end;
    }

    /**
     * Prompt tokens looked back over for a context that starts at a whole character: four
     * characters of four byte pieces each.
     */
    private static final int MAX_CONTEXT_TOKENS = 16;

    /**
     * Generated tokens are decoded after the end of the prompt: decoders that strip the first space
     * of a text (sentencepiece's, Llama 2's: "▁man" alone is "man") would otherwise drop the space
     * a completion starts with. The context is the shortest end of the prompt that decodes to whole
     * characters, so that it never begins inside one: a byte-fallback decoder reads consecutive
     * byte pieces as one run, and a run that starts with a continuation byte would turn the
     * completion's own bytes into U+FFFD. Usually that is the last token alone. Found once per
     * call, as the prompt does not change.
     */
    private Context context(SequenceState s) {
        int[] prompt = s.promptTokens;
        for (int from = prompt.length - 1;
                from >= Math.max(0, prompt.length - MAX_CONTEXT_TOKENS);
                from--) {
            int[] candidate = Arrays.copyOfRange(prompt, from, prompt.length);
            String decoded = tokenizer.decode(candidate);
            if (decoded.indexOf(REPLACEMENT) < 0) {
                return new Context(candidate, decoded);
            }
        }
        return new Context(new int[0], "");
    }

    /** The end of a prompt that generated tokens are decoded after, and its own text. */
    private final class Context {
        private final int[] tokens;
        private final String text;

        Context(int[] tokens, String text) {
            this.tokens = tokens;
            this.text = text;
        }

        String decode(int[] generated) {
            if (generated.length == 0) {
                return "";
            }
            if (tokens.length == 0) {
                return tokenizer.decode(generated);
            }
            int[] withContext = Arrays.copyOf(tokens, tokens.length + generated.length);
            System.arraycopy(generated, 0, withContext, tokens.length, generated.length);
            String decoded = tokenizer.decode(withContext);
            return decoded.startsWith(text)
                    ? decoded.substring(text.length())
                    : tokenizer.decode(generated);
        }
    }
}
