package io.tetris.policy;

/**
 * Step times linear in the work done, the shape SmartSpec's analytic model uses: a fixed launch
 * cost, a cost per new (query) token, and a cost per context token read from the KV cache.
 *
 * @param draftFixedSeconds per draft step
 * @param draftPerTokenSeconds per sequence in a draft step (one new token each)
 * @param draftPerContextTokenSeconds per context token read by a draft step
 * @param verifyFixedSeconds per verification pass
 * @param verifyPerTokenSeconds per new token the target processes
 * @param verifyPerContextTokenSeconds per context token read by a verification pass
 */
public record LinearStepCostModel(
        double draftFixedSeconds,
        double draftPerTokenSeconds,
        double draftPerContextTokenSeconds,
        double verifyFixedSeconds,
        double verifyPerTokenSeconds,
        double verifyPerContextTokenSeconds)
        implements StepCostModel, java.io.Serializable {

    /**
     * An accelerator-like regime, where a target pass costs mostly its fixed weight-loading time
     * and a draft step a tenth of it; a placeholder until a measured profile replaces it.
     */
    public static final LinearStepCostModel DEFAULT =
            new LinearStepCostModel(2.0e-4, 1.0e-5, 1.0e-7, 2.0e-3, 2.0e-5, 3.0e-7);

    /**
     * The six numbers as {@code tetris.cost-model} takes them: draft fixed, per token, per context
     * token, verify fixed, per token, per context token (seconds).
     */
    public String configString() {
        return java.util.stream.DoubleStream.of(
                        draftFixedSeconds,
                        draftPerTokenSeconds,
                        draftPerContextTokenSeconds,
                        verifyFixedSeconds,
                        verifyPerTokenSeconds,
                        verifyPerContextTokenSeconds)
                .mapToObj(Double::toString)
                .collect(java.util.stream.Collectors.joining(","));
    }

    public LinearStepCostModel {
        double[] all = {
            draftFixedSeconds,
            draftPerTokenSeconds,
            draftPerContextTokenSeconds,
            verifyFixedSeconds,
            verifyPerTokenSeconds,
            verifyPerContextTokenSeconds
        };
        for (double c : all) {
            if (!(c >= 0) || Double.isInfinite(c)) {
                throw new IllegalArgumentException(
                        "step cost coefficients must be finite and >= 0, got " + c);
            }
        }
        if (verifyFixedSeconds + verifyPerTokenSeconds <= 0) {
            throw new IllegalArgumentException("a verification pass must cost some time");
        }
    }

    @Override
    public double draftStepSeconds(int batchSize, double meanContextLength) {
        return draftFixedSeconds
                + batchSize
                        * (draftPerTokenSeconds + meanContextLength * draftPerContextTokenSeconds);
    }

    @Override
    public double verifySeconds(int batchSize, double tokensPerSequence, double meanContextLength) {
        return verifyFixedSeconds
                + batchSize
                        * (tokensPerSequence * verifyPerTokenSeconds
                                + meanContextLength * verifyPerContextTokenSeconds);
    }
}
