package io.tetris.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tetris.job.kafka.Outcome;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SpeculationStats;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The per-request table and the overall figures printed after a run. */
final class Summary {

    private final List<String> ids;
    private final Map<String, Outcome> outcomes;
    private final double seconds;
    private final String policy;

    Summary(List<String> ids, Map<String, Outcome> outcomes, double seconds, String policy) {
        this.ids = ids;
        this.outcomes = outcomes;
        this.seconds = seconds;
        this.policy = policy;
    }

    long completed() {
        return outcomes.values().stream().filter(o -> o instanceof Outcome.Completed).count();
    }

    long errors() {
        return outcomes.values().stream().filter(o -> o instanceof Outcome.Failed).count();
    }

    long outputTokens() {
        long n = 0;
        for (GenerationResult r : results()) {
            n += r.getTokenIds().size();
        }
        return n;
    }

    double tokensPerSecond() {
        return seconds <= 0 ? 0 : outputTokens() / seconds;
    }

    /** Accepted draft tokens over verified draft tokens, over all requests. */
    double acceptanceRate() {
        long accepted = 0;
        long verified = 0;
        for (GenerationResult r : results()) {
            accepted += r.getSpeculation().getAcceptedTokens();
            verified += r.getSpeculation().getVerifiedDraftTokens();
        }
        return verified == 0 ? 0 : (double) accepted / verified;
    }

    /** {@code 1 + accepted / drafts}, over all requests. */
    double meanAcceptanceLength() {
        long accepted = 0;
        long drafts = 0;
        for (GenerationResult r : results()) {
            accepted += r.getSpeculation().getAcceptedTokens();
            drafts += r.getSpeculation().getDrafts();
        }
        return drafts == 0 ? 1.0 : 1.0 + (double) accepted / drafts;
    }

    /** Verified draft tokens over the verification budget offered. */
    double budgetUse() {
        double verified = 0;
        double budget = 0;
        for (GenerationResult r : results()) {
            SpeculationStats s = r.getSpeculation();
            verified += s.getVerifiedDraftTokens();
            if (s.getBudgetUtilization() > 0) {
                budget += s.getVerifiedDraftTokens() / s.getBudgetUtilization();
            }
        }
        return budget == 0 ? 0 : verified / budget;
    }

    void printTable(PrintStream out) {
        out.println();
        out.printf(
                Locale.ROOT,
                "%-14s %-8s %7s %7s %9s %9s %10s  %s%n",
                "request",
                "finish",
                "tokens",
                "rounds",
                "verified",
                "accepted",
                "acceptance",
                "completion");
        for (String id : ids) {
            Outcome o = outcomes.get(id);
            if (o instanceof Outcome.Completed c) {
                GenerationResult r = c.result();
                SpeculationStats s = r.getSpeculation();
                out.printf(
                        Locale.ROOT,
                        "%-14s %-8s %7d %7d %9d %9d %10s  %s%n",
                        abbreviate(id),
                        r.getFinishReason().toString().toLowerCase(Locale.ROOT),
                        r.getTokenIds().size(),
                        s.getRounds(),
                        s.getVerifiedDraftTokens(),
                        s.getAcceptedTokens(),
                        s.getVerifiedDraftTokens() == 0
                                ? "-"
                                : String.format(Locale.ROOT, "%.3f", s.getAcceptanceRate()),
                        preview(r.getText()));
            } else if (o instanceof Outcome.Failed f) {
                out.printf(
                        Locale.ROOT,
                        "%-14s %-8s %s%n",
                        abbreviate(id),
                        "error",
                        f.error().getCode() + ": " + f.error().getMessage());
            } else {
                out.printf(Locale.ROOT, "%-14s %-8s%n", abbreviate(id), "no answer");
            }
        }
        out.println();
        out.printf(
                Locale.ROOT,
                "policy %s: %d requests, %d completed, %d errors; %d output tokens in %.2f s ="
                        + " %.1f tokens/s%n",
                policy,
                ids.size(),
                completed(),
                errors(),
                outputTokens(),
                seconds,
                tokensPerSecond());
        out.printf(
                Locale.ROOT,
                "acceptance rate %.3f, mean acceptance length %.3f, budget use %.3f%n",
                acceptanceRate(),
                meanAcceptanceLength(),
                budgetUse());
    }

    String json(Map<String, Object> extra) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("requests", ids.size());
        root.put("completed", completed());
        root.put("errors", errors());
        root.put("output_tokens", outputTokens());
        root.put("tokens_per_second", tokensPerSecond());
        root.put("acceptance_rate", acceptanceRate());
        root.put("mean_acceptance_length", meanAcceptanceLength());
        root.put("budget_use", budgetUse());
        root.put("policy", policy);
        extra.forEach((k, v) -> root.set(k, mapper.valueToTree(v)));
        ArrayNode results = root.putArray("results");
        for (String id : ids) {
            if (outcomes.get(id) instanceof Outcome.Completed c) {
                GenerationResult r = c.result();
                ObjectNode node = results.addObject();
                node.put("request_id", r.getRequestId());
                ArrayNode tokens = node.putArray("token_ids");
                r.getTokenIds().forEach(tokens::add);
                node.put("text", r.getText());
                node.put("finish_reason", r.getFinishReason().toString().toLowerCase(Locale.ROOT));
            }
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<GenerationResult> results() {
        return outcomes.values().stream()
                .filter(o -> o instanceof Outcome.Completed)
                .map(o -> ((Outcome.Completed) o).result())
                .toList();
    }

    /** The start of a completion on one line, for the table. */
    static String preview(String text) {
        String line = text.replace('\n', '⏎').replace('\t', ' ').replace('\r', ' ');
        return line.length() <= 32 ? line : line.substring(0, 31) + "…";
    }

    private static String abbreviate(String id) {
        return id.length() <= 14 ? id : id.substring(0, 13) + "…";
    }
}
