package io.tetris.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.core.policy.PolicyConfig;
import io.tetris.model.OnnxModelOptions.ExecutionProvider;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

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
        assertThat(config.costModel().verifyPerTokenSeconds()).isEqualTo(5.0);
        assertThat(config.models().onnx().executionProvider()).isEqualTo(ExecutionProvider.CUDA);
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
