package io.tetris.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Predicts, online, the probability that a draft token is accepted given that the tokens before it
 * in its window were: the quantity TETRIS ranks by and goodput planning multiplies.
 *
 * <p>The raw draft probability alone ranks acceptance poorly on a small draft (on the bundled pair
 * it is not even monotone in acceptance), so the estimate combines several features in a logistic
 * model, one per calibration group (greedy, sampled), refitted by Newton steps over a window of the
 * latest outcomes ({@link WindowedLogistic}):
 *
 * <ul>
 *   <li>the draft log-probability of the token (linear and binned) and of the window before it;
 *   <li>the draft position (one-hot, deeper ones pooled);
 *   <li>the entropy of the draft distribution where it was computed (sampled rows);
 *   <li>how clearly the draft chose the token (linear and binned): its most likely token's lead
 *       over the runner-up on greedy rows, the lead of the drawn token in the noise race on coupled
 *       sampled rows ({@link io.tetris.core.CoupledSampling#draw}); a draft torn between two tokens
 *       is often overruled by the target even where its top token looks likely;
 *   <li>the request's own recent acceptance (a decayed rate shrunk towards its group's), the
 *       feature that tells an easy request from a hard one whatever the draft believes;
 *   <li>the target's lead where it stopped the request's previous round;
 *   <li>the acceptance so far of the drafted token, of the token before it and of the pair (each
 *       shrunk towards its group's rate): a byte-level draft is overruled far more after a space
 *       than inside a word, and after some pairs more than the draft expects.
 * </ul>
 *
 * The logit of the raw draft probability is a feature whose weight starts at 1, so with no data the
 * estimate is the raw probability and the predictor starts as plain TETRIS. The logistic output is
 * then recalibrated by isotonic regression ({@link AcceptanceCalibrator} over the score), since an
 * online logistic fit is well ordered long before it is well calibrated.
 *
 * <p>Use: {@link #predict} for a round's candidates, then {@link #observe} with that prediction and
 * the round's outcome. The prediction is scored (AUC, calibration error, Brier, per position)
 * before the outcome trains the model, so {@link #report} is prequential.
 */
public final class AcceptancePredictor {

    /** Draft positions told apart; deeper ones share the last. */
    public static final int POSITIONS = 6;

    private static final int GROUPS = 2;

    /** Bin edges (nats) of the draft's lead over its runner-up: acceptance is not linear in it. */
    private static final double[] MARGIN_EDGES = {0.25, 0.5, 1, 1.5, 2, 3, 4, 6};

    /** Bin edges of the draft log-probability of the token. */
    private static final double[] LOG_PROB_EDGES = {-4, -3, -2, -1.5, -1, -0.5, -0.25, -0.1};

    private static final int BINNED = 15 + POSITIONS;
    private static final int OFFSET = BINNED + MARGIN_EDGES.length + 1 + LOG_PROB_EDGES.length + 1;
    private static final int FEATURES = OFFSET + 3;
    private static final int WINDOW = 2048;
    private static final double PRIOR = 1;
    private static final int MAX_PAIRS = 8192;
    private static final double MIN_P = 0.01;
    private static final double REQUEST_DECAY = 0.97;
    private static final double ESTIMATE_DECAY = 0.98;
    private static final double REQUEST_PRIOR = 3;
    private static final int MAX_REQUESTS = 8192;

    private final WindowedLogistic[] models = new WindowedLogistic[GROUPS];
    private AcceptanceCalibrator calibrator = new AcceptanceCalibrator(GROUPS, 1, 20, 4);
    private long trained;
    private final double[][] positionAccepted = new double[GROUPS][POSITIONS];
    private final double[][] positionSeen = new double[GROUPS][POSITIONS];
    private final double[][] estimateMean = new double[GROUPS][POSITIONS]; // EWMA of estimates
    private final boolean[][] estimated = new boolean[GROUPS][POSITIONS];
    private final double[] groupAccepted = new double[GROUPS];
    private final double[] groupSeen = new double[GROUPS];
    private final double initialAcceptance;
    private final RateTable tokenRates = new RateTable(REQUEST_PRIOR, Integer.MAX_VALUE);
    // by the token before: the context a byte-level draft stumbles after (a space)
    private final RateTable previousRates = new RateTable(REQUEST_PRIOR, Integer.MAX_VALUE);
    // by (the token before, the token), the latest MAX_PAIRS pairs
    private final RateTable pairRates = new RateTable(REQUEST_PRIOR, MAX_PAIRS);
    // id -> {accepted, seen, estimate EWMA, the target's last margin}
    private final Map<String, double[]> requests =
            new LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
                    return size() > MAX_REQUESTS;
                }
            };
    private final PredictionScore raw = new PredictionScore();
    private final PredictionScore predicted = new PredictionScore();
    private final PredictionScore survival = new PredictionScore();
    private final PredictionScore[] byPosition = new PredictionScore[POSITIONS];

    /**
     * @param initialAcceptance acceptance assumed for planning before any outcome
     */
    public AcceptancePredictor(double initialAcceptance) {
        if (!(initialAcceptance >= 0 && initialAcceptance <= 1)) {
            throw new IllegalArgumentException(
                    "initial acceptance must be in [0, 1], was " + initialAcceptance);
        }
        this.initialAcceptance = initialAcceptance;
        // With no data the estimate is the raw draft probability: the offset's weight is 1.
        double[] initial = new double[FEATURES];
        initial[OFFSET] = 1;
        for (int g = 0; g < GROUPS; g++) {
            models[g] = new WindowedLogistic(initial, WINDOW, PRIOR);
        }
        for (int p = 0; p < POSITIONS; p++) {
            byPosition[p] = new PredictionScore();
        }
    }

    /**
     * A round's estimates and the features they came from.
     *
     * @param estimates {@code [batch][drafted_i]} conditional acceptance estimates
     */
    public record Prediction(
            Candidates candidates,
            double[][] estimates,
            double[][][] features,
            double[][] scores) {}

    /** Estimates every drafted token of a round. */
    public Prediction predict(Candidates c) {
        int n = c.size();
        double[][] estimates = new double[n][]; // [batch][drafted_i]
        double[][] scores = new double[n][]; // [batch][drafted_i] before recalibration
        double[][][] features = new double[n][][]; // [batch][drafted_i][feature]
        for (int i = 0; i < n; i++) {
            int g = group(c.groups()[i]);
            double[] lps = c.logProbs()[i];
            double rate = requestRate(c.ids()[i], g);
            double[] seen = requests.get(c.ids()[i]);
            boolean known = seen != null && seen[1] > 0;
            estimates[i] = new double[lps.length];
            scores[i] = new double[lps.length];
            features[i] = new double[lps.length][];
            double before = 0;
            for (int j = 0; j < lps.length; j++) {
                double lp = clampLog(lps[j]);
                double entropy = c.entropy(i, j);
                int token = c.tokens()[i][j];
                int previous = c.previous(i, j);
                double[] x =
                        features(
                                lp,
                                before,
                                j,
                                entropy,
                                c.margin(i, j),
                                seen == null ? Double.NaN : seen[3],
                                rate,
                                known,
                                tokenRates.rate(token, groupRate(g)),
                                previousRates.rate(previous, groupRate(g)),
                                pairRates.rate(pair(previous, token), groupRate(g)));
                double s = models[g].probability(x);
                features[i][j] = x;
                scores[i][j] = s;
                estimates[i][j] = calibrator.estimate(g, 0, Math.log(Math.max(s, 1e-12)));
                before += lp;
                int p = Math.min(j, POSITIONS - 1);
                estimateMean[g][p] =
                        estimated[g][p]
                                ? ESTIMATE_DECAY * estimateMean[g][p]
                                        + (1 - ESTIMATE_DECAY) * estimates[i][j]
                                : estimates[i][j];
                estimated[g][p] = true;
                if (j == 0) {
                    // The request's own first-position estimates, against its group's there.
                    double[] h =
                            requests.computeIfAbsent(
                                    c.ids()[i], id -> new double[] {0, 0, -1, Double.NaN});
                    h[2] = h[2] < 0 ? estimates[i][j] : 0.7 * h[2] + 0.3 * estimates[i][j];
                }
            }
        }
        return new Prediction(c, estimates, features, scores);
    }

    /**
     * Scores {@code prediction} against the round's outcome, then learns from it.
     *
     * @param verified {@code [batch]} draft tokens verified per row
     * @param accepted {@code [batch]} of those, accepted
     */
    public void observe(Prediction prediction, int[] verified, int[] accepted) {
        observe(prediction, verified, accepted, null);
    }

    /**
     * Like {@link #observe(Prediction, int[], int[])}, remembering for each request how sure the
     * target was where it stopped ({@code targetMargins [batch]}, NaN where not known; null for
     * none), which its next round's estimates use.
     */
    public void observe(
            Prediction prediction, int[] verified, int[] accepted, double[] targetMargins) {
        Candidates c = prediction.candidates();
        for (int i = 0; i < verified.length; i++) {
            int g = group(c.groups()[i]);
            if (targetMargins != null && !Double.isNaN(targetMargins[i])) {
                requests.computeIfAbsent(c.ids()[i], id -> new double[] {0, 0, -1, Double.NaN})[3] =
                        targetMargins[i];
            }
            // Tokens after the first rejection say nothing about conditional acceptance.
            int scored = Math.min(verified[i], Math.min(accepted[i] + 1, c.logProbs()[i].length));
            double[] history = null;
            double alive = 1;
            // Every verified token has a known outcome for "accepted": after a rejection, no.
            for (int j = 0; j < Math.min(verified[i], c.logProbs()[i].length); j++) {
                alive *= prediction.estimates()[i][j];
                survival.add(alive, j < accepted[i]);
            }
            for (int j = 0; j < scored; j++) {
                boolean ok = j < accepted[i];
                double y = ok ? 1 : 0;
                double lp = clampLog(c.logProbs()[i][j]);
                double estimate = prediction.estimates()[i][j];
                raw.add(Math.exp(lp), ok);
                predicted.add(estimate, ok);
                byPosition[Math.min(j, POSITIONS - 1)].add(estimate, ok);
                double s = prediction.scores()[i][j];
                calibrator.observe(g, 0, Math.log(Math.max(s, 1e-12)), ok);
                trained++;
                models[g].add(prediction.features()[i][j], ok);
                int p = Math.min(j, POSITIONS - 1);
                positionSeen[g][p]++;
                positionAccepted[g][p] += y;
                groupSeen[g]++;
                groupAccepted[g] += y;
                if (history == null) {
                    history =
                            requests.computeIfAbsent(
                                    c.ids()[i], id -> new double[] {0, 0, -1, Double.NaN});
                }
                history[0] = REQUEST_DECAY * history[0] + y;
                history[1] = REQUEST_DECAY * history[1] + 1;
                int token = c.tokens()[i][j];
                int previous = c.previous(i, j);
                tokenRates.count(token, ok);
                previousRates.count(previous, ok);
                pairRates.count(pair(previous, token), ok);
            }
        }
    }

    /**
     * Planning estimate before drafting: the acceptance estimate a draft token of request {@code
     * id} at {@code position} can expect. The mean of the estimates recently made for the request's
     * own drafts once there are some, else of those made for its group at that position, else the
     * initial acceptance: so the plan expects what the allocation will see.
     */
    public double planningRate(String id, int group, int position) {
        int g = group(group);
        int p = Math.min(position, POSITIONS - 1);
        if (positionSeen[g][p] == 0) {
            return initialAcceptance;
        }
        // Observed conditional acceptance at this position (only tokens whose predecessors were
        // accepted are scored), shrunk towards the group's rate.
        double rate =
                (positionAccepted[g][p] + REQUEST_PRIOR * groupRate(g))
                        / (positionSeen[g][p] + REQUEST_PRIOR);
        double[] h = requests.get(id);
        if (h != null && h[2] >= 0 && estimated[g][0] && estimateMean[g][0] > 0) {
            rate *= Math.max(0.25, Math.min(2, h[2] / estimateMean[g][0]));
        }
        return Math.max(0, Math.min(0.99, rate));
    }

    /** Outcomes it has learned from, its predecessors' included. */
    public long trained() {
        return trained;
    }

    /**
     * A predictor for new requests that keeps what this one learned about the draft and the target
     * (weights, calibration, per-position and per-token rates) but nothing about its requests, and
     * scores itself afresh.
     */
    public AcceptancePredictor carryOver() {
        AcceptancePredictor c = new AcceptancePredictor(initialAcceptance);
        LearnedState.read(LearnedState.write(this::write), c::read);
        return c;
    }

    /**
     * Writes what {@link #carryOver} keeps (weights, calibration, per-position, per-group and
     * per-token rates; nothing about requests or scores), for {@link BudgetPolicy#learned}.
     */
    void write(java.io.DataOutputStream out) throws java.io.IOException {
        for (int g = 0; g < GROUPS; g++) {
            models[g].write(out);
            LearnedState.doubles(out, positionAccepted[g]);
            LearnedState.doubles(out, positionSeen[g]);
            LearnedState.doubles(out, estimateMean[g]);
            LearnedState.booleans(out, estimated[g]);
        }
        LearnedState.doubles(out, groupAccepted);
        LearnedState.doubles(out, groupSeen);
        tokenRates.write(out);
        previousRates.write(out);
        pairRates.write(out);
        calibrator.write(out);
        out.writeLong(trained);
    }

    /** Reads what {@link #write} wrote into this (fresh) predictor. */
    void read(java.io.DataInputStream in) throws java.io.IOException {
        for (int g = 0; g < GROUPS; g++) {
            models[g].read(in);
            LearnedState.doubles(in, positionAccepted[g]);
            LearnedState.doubles(in, positionSeen[g]);
            LearnedState.doubles(in, estimateMean[g]);
            LearnedState.booleans(in, estimated[g]);
        }
        LearnedState.doubles(in, groupAccepted);
        LearnedState.doubles(in, groupSeen);
        tokenRates.read(in);
        previousRates.read(in);
        pairRates.read(in);
        calibrator.read(in);
        trained = in.readLong();
    }

    /** Decayed count of request {@code id}'s scored drafts; 0 for one never seen. */
    public double observations(String id) {
        double[] h = requests.get(id);
        return h == null ? 0 : h[1];
    }

    /** Prequential scores so far. */
    public CalibrationReport report() {
        List<CalibrationReport.Score> positions = new ArrayList<>();
        for (PredictionScore s : byPosition) {
            positions.add(s.snapshot());
        }
        return new CalibrationReport(
                raw.snapshot(), predicted.snapshot(), survival.snapshot(), positions);
    }

    private double groupRate(int g) {
        return (groupAccepted[g] + REQUEST_PRIOR * initialAcceptance)
                / (groupSeen[g] + REQUEST_PRIOR);
    }

    private double requestRate(String id, int g) {
        double[] h = requests.get(id);
        double prior = groupRate(g);
        return h == null ? prior : (h[0] + REQUEST_PRIOR * prior) / (h[1] + REQUEST_PRIOR);
    }

    private static long pair(int previous, int token) {
        return ((long) previous << 32) | (token & 0xFFFFFFFFL);
    }

    private static double logit(double rate) {
        double r = Math.max(1e-3, Math.min(1 - 1e-3, rate));
        return Math.log(r / (1 - r)) / 4;
    }

    private static double[] features(
            double lp,
            double before,
            int position,
            double entropy,
            double margin,
            double targetMargin,
            double rate,
            boolean known,
            double tokenRate,
            double previousRate,
            double pairRate) {
        double p = Math.exp(lp);
        double r = Math.max(1e-3, Math.min(1 - 1e-3, rate));
        double[] x = new double[FEATURES];
        x[0] = 1;
        x[1] = p;
        x[2] = lp / 8;
        x[3] = Math.max(before, -16) / 16;
        x[4] = r - 0.5;
        x[5] = logit(r);
        x[6] = Double.isNaN(entropy) ? 0 : Math.min(entropy, 8) / 4;
        x[7] = r * p;
        x[8] = known ? 0 : 1;
        double t = Math.max(1e-3, Math.min(1 - 1e-3, tokenRate));
        x[9] = t - 0.5;
        x[10] = logit(t);
        if (!Double.isNaN(margin)) {
            double m = Math.max(0, margin);
            x[11] = Math.min(m, 8) / 4;
            x[12] = Math.exp(-m); // the runner-up's probability over the top token's
            x[BINNED + bin(m, MARGIN_EDGES)] = 1;
        }
        if (!Double.isNaN(targetMargin)) {
            double m = Math.max(0, targetMargin);
            x[13] = Math.min(m, 8) / 4;
            x[14] = Math.exp(-m);
        }
        x[15 + Math.min(position, POSITIONS - 1)] = 1;
        x[BINNED + MARGIN_EDGES.length + 1 + bin(lp, LOG_PROB_EDGES)] = 1;
        x[OFFSET] = offset(lp);
        x[OFFSET + 1] = logit(previousRate);
        x[OFFSET + 2] = logit(pairRate);
        return x;
    }

    /** The bin of {@code v} among {@code edges.length + 1}: below the first edge is bin 0. */
    private static int bin(double v, double[] edges) {
        int b = 0;
        while (b < edges.length && v >= edges[b]) {
            b++;
        }
        return b;
    }

    private static double offset(double lp) {
        double p = Math.max(MIN_P, Math.min(1 - MIN_P, Math.exp(lp)));
        return Math.log(p / (1 - p));
    }

    private static double clampLog(double lp) {
        return Double.isNaN(lp) ? -8 : Math.max(-8, Math.min(0, lp));
    }

    private static int group(int group) {
        if (group < 0 || group >= GROUPS) {
            throw new IllegalArgumentException(
                    "calibration group " + group + " outside [0, " + GROUPS + ")");
        }
        return group;
    }
}
