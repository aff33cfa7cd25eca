package io.tetris.operators.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.tetris.engine.StepCostProfile;
import io.tetris.model.OnnxModelOptions.ExecutionProvider;
import io.tetris.policy.LinearStepCostModel;
import io.tetris.policy.PolicyConfig;
import io.tetris.policy.StepCostFit;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link TetrisConfig} and {@link TetrisOptions}. */
class TetrisConfigTest {

    @Test
    void defaultsAreValid() {
        TetrisConfig config = TetrisConfig.from(new Configuration());
        assertThat(config.policy().policy()).isEqualTo(PolicyConfig.Kind.TETRIS);
        assertThat(config.policy().k()).isEqualTo(4);
        assertThat(config.models().draftTokenizer()).isEqualTo(config.models().tokenizer());
        assertThat(config.models().onnx().executionProvider()).isEqualTo(ExecutionProvider.CPU);
        assertThat(config.batch().queueFull()).isEqualTo(TetrisConfig.QueueFull.WAIT);
    }

    @Test
    void readsEverySetting() {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.POLICY, "dsd");
        conf.set(TetrisOptions.K, 3);
        conf.set(TetrisOptions.MAX_RUNNING, 8);
        conf.set(TetrisOptions.QUEUE_FULL, "reject");
        conf.set(TetrisOptions.COST_MODEL, "1,2,3,4,5,6");
        conf.set(TetrisOptions.EXECUTION_PROVIDER, "cuda");
        TetrisConfig config = TetrisConfig.from(conf);
        assertThat(config.policy().policy()).isEqualTo(PolicyConfig.Kind.DSD);
        assertThat(config.policy().k()).isEqualTo(3);
        assertThat(config.batch().maxRunning()).isEqualTo(8);
        assertThat(config.batch().queueFull()).isEqualTo(TetrisConfig.QueueFull.REJECT);
        assertThat(((LinearStepCostModel) config.costModel()).verifyPerTokenSeconds())
                .isEqualTo(5.0);
        assertThat(config.models().onnx().executionProvider()).isEqualTo(ExecutionProvider.CUDA);
    }

    @Test
    void aSavedCostProfileReplacesTheConfiguredCostModel(@TempDir Path dir) {
        List<StepCostFit.Sample> draft = new ArrayList<>();
        List<StepCostFit.Sample> verify = new ArrayList<>();
        for (int b : new int[] {1, 4, 16}) {
            for (int ctx : new int[] {10, 100}) {
                draft.add(new StepCostFit.Sample(b, 1, ctx, 1e-3 + b * 1e-4 + b * ctx * 1e-6));
                for (int t : new int[] {1, 5}) {
                    verify.add(new StepCostFit.Sample(b, t, ctx, 2e-3 + b * t * 3e-4));
                }
            }
        }
        StepCostProfile profile =
                new StepCostProfile(
                        draft, verify, StepCostFit.fit(draft), StepCostFit.fit(verify), "test");
        Path file = dir.resolve("cost-profile.txt");
        profile.save(file);
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.COST_PROFILE, file.toString());
        assertThat(TetrisConfig.from(conf).costModel()).isEqualTo(profile.model());
        assertThat(((LinearStepCostModel) profile.model()).verifyPerTokenSeconds())
                .isCloseTo(3e-4, within(1e-9));

        conf.set(TetrisOptions.COST_PROFILE, dir.resolve("missing.txt").toString());
        assertThatThrownBy(() -> TetrisConfig.from(conf))
                .hasMessageContaining("tetris.cost-profile")
                .hasMessageContaining("missing.txt");
    }

    @Test
    void reportsEveryProblemAtOnceNamingTheOption() {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.POLICY, "tetrys");
        conf.set(TetrisOptions.MAX_RUNNING, 0);
        conf.set(TetrisOptions.QUEUE_FULL, "drop");
        conf.set(TetrisOptions.COST_MODEL, "1,2");
        conf.set(TetrisOptions.EXECUTION_PROVIDER, "tpu");
        assertThatThrownBy(() -> TetrisConfig.from(conf))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown policy 'tetrys'")
                .hasMessageContaining("tetris.batch.max-running must be >= 1, was 0")
                .hasMessageContaining("tetris.batch.queue-full: 'drop' is not one of wait, reject")
                .hasMessageContaining("tetris.cost-model: needs six comma-separated numbers")
                .hasMessageContaining("unknown execution provider 'tpu'");
    }

    @Test
    void theRequestIdLimitIsReadAndMustBePositive() {
        Configuration conf = new Configuration();
        assertThat(TetrisConfig.from(conf).limits().maxRequestIdLength()).isEqualTo(256);
        conf.set(TetrisOptions.MAX_REQUEST_ID_LENGTH, 36);
        assertThat(TetrisConfig.from(conf).limits().maxRequestIdLength()).isEqualTo(36);

        conf.set(TetrisOptions.MAX_REQUEST_ID_LENGTH, 0);
        assertThatThrownBy(() -> TetrisConfig.from(conf))
                .hasMessageContaining("tetris.limits.max-request-id-length must be >= 1, was 0");
    }

    @Test
    void everyOptionIsDocumented() throws Exception {
        int options = 0;
        for (Field field : TetrisOptions.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                ConfigOption<?> option = (ConfigOption<?>) field.get(null);
                assertThat(option.key()).startsWith("tetris.");
                assertThat(option.description().toString()).as(option.key()).isNotBlank();
                options++;
            }
        }
        assertThat(options).isGreaterThan(20);
    }
}
