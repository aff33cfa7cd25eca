package io.tetris.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link OnnxLanguageModelContract} on the bundled Llama-style pair in fp32: rotary positions,
 * grouped-query attention, a 2,048-token BPE vocabulary, tied embeddings.
 */
class LlamaModelTest extends OnnxLanguageModelContract {

    @Override
    OnnxModelOptions.KvCacheMode mode() {
        return OnnxModelOptions.KvCacheMode.NATIVE;
    }

    @Override
    Path dir() {
        return BundledModels.llama("fp32");
    }

    @Test
    void runsWithGroupedQueryAttentionInPlace() {
        // 4 query heads over 2 KV heads in the target, 2 over 1 in the draft (config_*.json)
        assertThat(target.signature().kvHeads()).isEqualTo(2);
        assertThat(draft.signature().kvHeads()).isEqualTo(1);
        assertThat(target.vocabSize()).isEqualTo(2048);
        assertThat(target.writesCachesInPlace()).isTrue();
        assertThat(draft.writesCachesInPlace()).isTrue();
    }

    @Test
    void greedyRowsOfALargerVocabularyAreReducedOffTheJavaHeap() {
        // 16 bytes per greedy position whatever the vocabulary (argmax, its log-probability and
        // the runner-up's); above 512 entries the reduction
        // runs as a graph (one more run per pass) instead of reading each row in Java.
        for (OnnxLanguageModel model : java.util.List.of(target, draft)) {
            model.extend(
                    java.util.List.of(new LanguageModel.Extension("reduced", ByteTokens.of("Hi"))));
            ModelTraffic before = model.traffic().copy();
            model.next(
                    java.util.List.of(
                            new LanguageModel.Extension("reduced", ByteTokens.of("abc"), 3, true)));
            ModelTraffic after = model.traffic();
            assertThat(after.logitBytesOut - before.logitBytesOut).isEqualTo(3 * 16);
            assertThat(after.runs - before.runs).isEqualTo(2);
            model.release("reduced");
        }
    }
}
