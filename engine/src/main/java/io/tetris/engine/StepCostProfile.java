package io.tetris.engine;

import io.tetris.policy.PaddedStepCostModel;
import io.tetris.policy.StepCostFit;
import io.tetris.policy.StepCostFit.Linear;
import io.tetris.policy.StepCostFit.Sample;
import io.tetris.policy.StepCostModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Measured step times of a draft/target pair on one machine and the linear fits to them, as {@link
 * StepCostProfiler} produces them.
 *
 * <p>Saved as plain text, one {@code key=value} a line ({@code #} starts a comment):
 *
 * <pre>
 * machine=16 cores, amd64, Linux, Java 17.0.12
 * draft.fit=fixed,perToken,perContextToken,rSquared,samples
 * verify.fit=fixed,perToken,perContextToken,rSquared,samples
 * draft.sample=batchSize,tokensPerSequence,contextLength,seconds
 * verify.sample=batchSize,tokensPerSequence,contextLength,seconds
 * </pre>
 *
 * Numbers are written so that loading gives back exactly the same values.
 *
 * @param draftSamples one per (batch size, context length), one token per sequence
 * @param verifySamples one per (batch size, tokens per sequence, context length)
 * @param draft the fit to {@code draftSamples}
 * @param verify the fit to {@code verifySamples}
 * @param machine a short description of where it was measured (cores, architecture, Java)
 * @param paddedSeconds what a padded position of a ragged verification pass adds (see {@link
 *     PaddedStepCostModel}); 0 where not measured
 */
public record StepCostProfile(
        List<Sample> draftSamples,
        List<Sample> verifySamples,
        Linear draft,
        Linear verify,
        String machine,
        double paddedSeconds) {

    private static final String MACHINE = "machine";
    private static final String DRAFT_FIT = "draft.fit";
    private static final String VERIFY_FIT = "verify.fit";
    private static final String DRAFT_SAMPLE = "draft.sample";
    private static final String VERIFY_SAMPLE = "verify.sample";
    private static final String VERIFY_PADDED = "verify.padded";

    public StepCostProfile {
        draftSamples = List.copyOf(draftSamples);
        verifySamples = List.copyOf(verifySamples);
        Objects.requireNonNull(draft, "draft");
        Objects.requireNonNull(verify, "verify");
        machine = Objects.requireNonNull(machine, "machine").strip();
        if (machine.indexOf('\n') >= 0 || machine.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("machine description must be one line");
        }
        if (!(paddedSeconds >= 0) || Double.isInfinite(paddedSeconds)) {
            throw new IllegalArgumentException(
                    "padded position cost must be finite and >= 0, got " + paddedSeconds);
        }
    }

    /** A profile without a measured cost of padding. */
    public StepCostProfile(
            List<Sample> draftSamples,
            List<Sample> verifySamples,
            Linear draft,
            Linear verify,
            String machine) {
        this(draftSamples, verifySamples, draft, verify, machine, 0);
    }

    /** The step cost model the fits describe, padding priced where it was measured. */
    public StepCostModel model() {
        return PaddedStepCostModel.of(StepCostFit.model(draft, verify), paddedSeconds);
    }

    /** This profile with {@code seconds} per padded position (another profile's measurement). */
    public StepCostProfile withPaddedSeconds(double seconds) {
        return new StepCostProfile(draftSamples, verifySamples, draft, verify, machine, seconds);
    }

    /** A few human-readable lines: the fits in microseconds and their R². */
    public String summary() {
        return String.format(
                Locale.ROOT,
                "machine: %s%n"
                        + "draft step:  %.1f us + B * (%.3f us + context * %.5f us), R2 %.4f over"
                        + " %d samples%n"
                        + "verify pass: %.1f us + B * (tokens * %.3f us + context * %.5f us), R2"
                        + " %.4f over %d samples%n"
                        + "draft step per sequence / verify per token: %.3f%n"
                        + "padded position of a ragged verify pass: %.1f us",
                machine,
                draft.fixed() * 1e6,
                draft.perToken() * 1e6,
                draft.perContextToken() * 1e6,
                draft.rSquared(),
                draft.samples(),
                verify.fixed() * 1e6,
                verify.perToken() * 1e6,
                verify.perContextToken() * 1e6,
                verify.rSquared(),
                verify.samples(),
                draftToVerifyRatio(),
                paddedSeconds * 1e6);
    }

    /**
     * What drafting a token costs against verifying one, per sequence: the fitted draft step's
     * per-sequence cost over the verify pass's per-token cost (TETRIS pays when this is small).
     */
    public double draftToVerifyRatio() {
        return verify.perToken() > 0 ? draft.perToken() / verify.perToken() : Double.NaN;
    }

    /** Writes the profile as text, replacing {@code file}. */
    public void save(Path file) {
        StringBuilder out = new StringBuilder();
        out.append("# tetris step-cost profile: measured seconds per draft step and verify pass\n");
        out.append("# fit = fixed,perToken,perContextToken,rSquared,samples\n");
        out.append("# sample = batchSize,tokensPerSequence,contextLength,seconds\n");
        out.append(MACHINE).append('=').append(machine).append('\n');
        out.append(DRAFT_FIT).append('=').append(format(draft)).append('\n');
        out.append(VERIFY_FIT).append('=').append(format(verify)).append('\n');
        out.append("# seconds a padded position adds to a ragged verify pass\n");
        out.append(VERIFY_PADDED).append('=').append(paddedSeconds).append('\n');
        for (Sample s : draftSamples) {
            out.append(DRAFT_SAMPLE).append('=').append(format(s)).append('\n');
        }
        for (Sample s : verifySamples) {
            out.append(VERIFY_SAMPLE).append('=').append(format(s)).append('\n');
        }
        try {
            Files.writeString(file, out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write step-cost profile " + file, e);
        }
    }

    /**
     * Reads a profile {@link #save} wrote.
     *
     * @throws IllegalArgumentException naming the file and line for a malformed file
     * @throws UncheckedIOException if the file cannot be read
     */
    public static StepCostProfile load(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read step-cost profile " + file, e);
        }
        String machine = null;
        Linear draft = null;
        Linear verify = null;
        int draftLine = 0;
        int verifyLine = 0;
        List<Sample> draftSamples = new ArrayList<>();
        List<Sample> verifySamples = new ArrayList<>();
        double padded = 0;
        for (int i = 0; i < lines.size(); i++) {
            int lineNumber = i + 1;
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw malformed(file, lineNumber, "expected key=value, got '" + line + "'");
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            try {
                switch (key) {
                    case MACHINE -> {
                        if (machine != null) {
                            throw new IllegalArgumentException("a second machine line");
                        }
                        machine = value;
                    }
                    case DRAFT_FIT -> {
                        if (draft != null) {
                            throw new IllegalArgumentException("a second draft.fit line");
                        }
                        draft = parseFit(value);
                        draftLine = lineNumber;
                    }
                    case VERIFY_FIT -> {
                        if (verify != null) {
                            throw new IllegalArgumentException("a second verify.fit line");
                        }
                        verify = parseFit(value);
                        verifyLine = lineNumber;
                    }
                    case DRAFT_SAMPLE -> draftSamples.add(parseSample(value));
                    case VERIFY_SAMPLE -> verifySamples.add(parseSample(value));
                    case VERIFY_PADDED -> padded = number(value, VERIFY_PADDED);
                    default ->
                            throw new IllegalArgumentException(
                                    "unknown key '"
                                            + key
                                            + "' (expected machine, draft.fit, verify.fit,"
                                            + " verify.padded, draft.sample or verify.sample)");
                }
            } catch (IllegalArgumentException e) {
                throw malformed(file, lineNumber, e.getMessage());
            }
        }
        int end = lines.size();
        if (machine == null) {
            throw malformed(file, end, "no machine line");
        }
        if (draft == null) {
            throw malformed(file, end, "no draft.fit line");
        }
        if (verify == null) {
            throw malformed(file, end, "no verify.fit line");
        }
        if (draft.samples() != draftSamples.size()) {
            throw malformed(
                    file,
                    draftLine,
                    "draft.fit counts "
                            + draft.samples()
                            + " samples but the file has "
                            + draftSamples.size()
                            + " draft.sample lines");
        }
        if (verify.samples() != verifySamples.size()) {
            throw malformed(
                    file,
                    verifyLine,
                    "verify.fit counts "
                            + verify.samples()
                            + " samples but the file has "
                            + verifySamples.size()
                            + " verify.sample lines");
        }
        try {
            return new StepCostProfile(draftSamples, verifySamples, draft, verify, machine, padded);
        } catch (IllegalArgumentException e) {
            throw malformed(file, end, e.getMessage());
        }
    }

    private static String format(Linear fit) {
        return fit.fixed()
                + ","
                + fit.perToken()
                + ","
                + fit.perContextToken()
                + ","
                + fit.rSquared()
                + ","
                + fit.samples();
    }

    private static String format(Sample s) {
        return s.batchSize()
                + ","
                + s.tokensPerSequence()
                + ","
                + s.contextLength()
                + ","
                + s.seconds();
    }

    private static Linear parseFit(String value) {
        String[] f = fields(value, 5, "fixed,perToken,perContextToken,rSquared,samples");
        return new Linear(
                number(f[0], "fixed"),
                number(f[1], "perToken"),
                number(f[2], "perContextToken"),
                number(f[3], "rSquared"),
                integer(f[4], "samples"));
    }

    private static Sample parseSample(String value) {
        String[] f = fields(value, 4, "batchSize,tokensPerSequence,contextLength,seconds");
        return new Sample(
                integer(f[0], "batchSize"),
                number(f[1], "tokensPerSequence"),
                number(f[2], "contextLength"),
                number(f[3], "seconds"));
    }

    private static String[] fields(String value, int count, String expected) {
        String[] f = value.split(",", -1);
        if (f.length != count) {
            throw new IllegalArgumentException(
                    "expected "
                            + count
                            + " comma-separated values "
                            + expected
                            + ", got '"
                            + value
                            + "'");
        }
        return f;
    }

    private static double number(String text, String what) {
        try {
            return Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " is not a number: '" + text + "'");
        }
    }

    private static int integer(String text, String what) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " is not an integer: '" + text + "'");
        }
    }

    private static IllegalArgumentException malformed(Path file, int line, String problem) {
        return new IllegalArgumentException(
                "malformed step-cost profile " + file + " line " + line + ": " + problem);
    }
}
