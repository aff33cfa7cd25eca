package io.tetris.tmp;

import io.tetris.bench.BenchLoop;
import io.tetris.bench.BenchModels;
import io.tetris.bench.RunResult;
import io.tetris.bench.Workload;
import io.tetris.core.policy.PolicyConfig;
import io.tetris.core.policy.StepCostFit;
import io.tetris.engine.CachedModel;
import io.tetris.model.BundledModels;
import io.tetris.model.HuggingFaceTextTokenizer;
import io.tetris.model.ModelTraffic;
import io.tetris.model.OnnxLanguageModel;
import io.tetris.model.OnnxModelOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

class DraftCostTest {
    @Test
    void run() throws Exception {
        String[] th = System.getProperty("threads", "0,0").split(",");
        OnnxModelOptions o = OnnxModelOptions.defaults(BundledModels.CONTEXT).withThreads(Integer.parseInt(th[0]), Integer.parseInt(th[1]));
        try (BenchModels m = new BenchModels(
                new CachedModel(OnnxLanguageModel.load(BundledModels.draft(), o)),
                new CachedModel(OnnxLanguageModel.load(BundledModels.target(), o)),
                HuggingFaceTextTokenizer.load(BundledModels.tokenizer()), BundledModels.CONTEXT)) {
            List<String> prompts = Workload.readPrompts(BundledModels.dir().resolve("bench_prompts.txt"));
            Workload w = Workload.of(prompts, m.tokenizer(), 128, 32, 42);
            BenchLoop loop = new BenchLoop(m);
            for (int rep = 0; rep < 3; rep++) {
                for (int k : new int[] {1, 4}) {
                    var policy = PolicyConfig.defaults().withPolicy(PolicyConfig.Kind.FIXED).withWindow(k, 0).create(null);
                    ModelTraffic d0 = m.draft().model().traffic().copy();
                    ModelTraffic t0 = m.target().model().traffic().copy();
                    RunResult r = loop.run(w, 32, policy);
                    ModelTraffic d = m.draft().model().traffic().since(d0);
                    ModelTraffic t = m.target().model().traffic().since(t0);
                    double seqSteps = 0, draftS = 0, vtok = 0, verS = 0;
                    for (StepCostFit.Sample s : r.draftSamples()) { seqSteps += s.batchSize(); draftS += s.seconds(); }
                    int steps = r.draftSamples().size();
                    for (StepCostFit.Sample s : r.verifySamples()) { vtok += s.batchSize() * s.tokensPerSequence(); verS += s.seconds(); }
                    System.out.printf("k=%d rounds %d: draft %.1f us/seq-step (steps: %.0f us fixed-ish mean); verify %.1f us/token; draft model %.1f ms model %.1f ms in-call host (runs %d); target %.1f model %.1f host; total %.1f s%n",
                        k, r.verifySamples().size(), 1e6 * draftS / seqSteps, 1e6 * draftS / Math.max(1, steps), 1e6 * verS / vtok,
                        d.modelNanos / 1e6, d.hostNanos() / 1e6, d.runs, t.modelNanos / 1e6, t.hostNanos() / 1e6, r.seconds());
                }
            }
        }
    }
}
