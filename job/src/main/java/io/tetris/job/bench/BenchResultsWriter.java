package io.tetris.job.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.engine.StepCostProfile;
import io.tetris.engine.StepCostProfiler;
import io.tetris.measure.Workload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes what {@code tetris bench} found: a report per workload (with {@link BenchReport}), the
 * index {@code results.md} over all of them, and the JSON object {@code --json} prints.
 */
public final class BenchResultsWriter {

    private final BenchSettings settings;
    private final String machine;
    private final ObjectNode json = new ObjectMapper().createObjectNode();
    private final ArrayNode configs = json.putArray("configs");
    private final StringBuilder index;

    /**
     * @param machine the note on the machine and the workloads every report starts with
     */
    public BenchResultsWriter(BenchSettings settings, String machine) {
        this.settings = settings;
        this.machine = machine;
        this.index = new StringBuilder("# " + settings.title() + "\n\n" + machine + "\n\n");
    }

    /**
     * The note on the machine and the workloads.
     *
     * @param trace the trace replayed instead of the workloads, or {@code null}
     */
    public static String machineNote(BenchSettings settings, Path trace) {
        return "Machine: "
                + StepCostProfiler.machine()
                + ". Workloads: "
                + (trace != null
                        ? "the trace " + trace.getFileName()
                        : String.join(", ", settings.workloads()))
                + "; batch B runs the first max(8, 2 x B) requests, "
                + settings.maxNewTokens()
                + " new tokens each, half greedy and half sampled at temperature "
                + Workload.SAMPLED_TEMPERATURE
                + " (coupled verification, fixed seeds); "
                + (settings.simulate()
                        ? "1 simulated run"
                        : settings.repeats() + " measured run(s), interleaved,")
                + " per configuration.";
    }

    /** The rows of a replayed trace: its report goes straight into the output folder. */
    public void replayed(List<BenchRow> rows) throws IOException {
        BenchReport.write(
                rows, "tetris bench --simulate (" + settings.simCost() + ")", machine, output());
        String claims = BenchFindings.claims(rows);
        appendToReport(output(), claims);
        index.append(claims);
        BenchJson.add(configs, "trace", rows, null);
    }

    /** One workload's report, in a folder of its name, with its findings and projections. */
    public void workload(WorkloadRows w) throws IOException {
        Path out = output().resolve(w.name());
        BenchReport.write(w.rows(), settings.title() + ", workload " + w.name(), machine, out);
        StringBuilder findings = new StringBuilder();
        findings.append(BenchFindings.claims(w.rows()));
        findings.append(BenchFindings.calibration(w.calibration()));
        if (w.projected() != null) {
            BenchReport.write(
                    w.projected(),
                    "projection: the same trace under the gpu-like cost model",
                    machine,
                    out.resolve("gpu-like"));
            findings.append(BenchFindings.projectionError(w.rows(), w.replayed()));
            findings.append("\n## Projection to an accelerator-like cost model\n\n")
                    .append(
                            BenchFindings.claims(w.projected())
                                    .replace("## Claims", "### Claims (projected)"))
                    .append(
                            "\nFull tables and plots: [gpu-like/results.md](gpu-like/results.md).\n");
            BenchJson.add(configs, w.name() + " (gpu-like projection)", w.projected(), null);
        }
        appendToReport(out, findings.toString());
        BenchJson.add(configs, w.name(), w.rows(), w.measured());
        index.append("- workload `")
                .append(w.name())
                .append("`: [")
                .append(w.name())
                .append("/results.md](")
                .append(w.name())
                .append("/results.md)\n");
    }

    /** The acceptance figures over every workload's measured runs. */
    public void summary(List<BenchSummary.Measured> measured) {
        index.append("\n")
                .append(
                        BenchSummary.markdown(
                                measured, settings.batchSizes(), settings.matrix(), json));
    }

    /** The cost model the runs planned with. */
    public void costModel(StepCostProfile profile) {
        index.append("\n## Cost model\n\n")
                .append(
                        settings.costProfile() != null
                                ? "Loaded from a saved profile.\n"
                                : "Fitted to the warm-up runs' rounds (fixed k = 1 and 6 at every batch size); the start-up profile of synthetic steps is in startup-profile.txt.\n")
                .append("\n```\n")
                .append(profile.summary())
                .append("\n```\n");
    }

    /** Writes the index {@code results.md} into the output folder. */
    public void writeIndex() throws IOException {
        Files.writeString(output().resolve("results.md"), index.toString(), StandardCharsets.UTF_8);
    }

    /** The index as written (or, for a replayed trace, as printed). */
    public String index() {
        return index.toString();
    }

    /** Every configuration's figures and, after measured runs, the summary's. */
    public String json() throws IOException {
        return new ObjectMapper().writeValueAsString(json);
    }

    private Path output() {
        return settings.output();
    }

    /** Appends {@code findings} after a blank line to the {@code results.md} in {@code dir}. */
    private static void appendToReport(Path dir, String findings) throws IOException {
        Path markdown = dir.resolve("results.md");
        Files.writeString(
                markdown,
                Files.readString(markdown, StandardCharsets.UTF_8) + "\n" + findings,
                StandardCharsets.UTF_8);
    }
}
