package io.tetris.job.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.model.BundledModels;
import io.tetris.operators.config.BundledModelsConfig;
import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.client.JobExecutionException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.SerializedThrowable;
import org.junit.jupiter.api.Test;

class SubmitOptionsTest {

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

    @Test
    void aRemoteSubmissionShipsTheModelFolderAndPointsTheTasksAtIt() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Configuration conf = BundledModelsConfig.configuration();

        TetrisConfig config = new SubmitOptions().deliverModels(env, conf, true, out);

        Path models = BundledModels.dir().toAbsolutePath().normalize();
        assertThat(config.models().shippedFolders()).containsExactly("tetris-models-0=" + models);
        assertThat(config.models().draft()).isEqualTo(models.resolve("draft.onnx").toString());
        assertThat(config.models().tokenizer())
                .isEqualTo(models.resolve("tokenizer.json").toString());
        assertThat(config.models().checkAtSubmit()).as("still checked here").isTrue();
        assertThat(env.getCachedFiles())
                .singleElement()
                .satisfies(
                        f -> {
                            assertThat(f.f0).isEqualTo("tetris-models-0");
                            assertThat(Path.of(java.net.URI.create(f.f1.filePath)))
                                    .isEqualTo(BundledModels.dir().toAbsolutePath().normalize());
                        });
        assertThat(printed.toString(StandardCharsets.UTF_8))
                .contains("Models: shipping")
                .contains(" files, ")
                .doesNotContain("faster");
    }

    @Test
    void shippingChecksTheModelsFirst() {
        Configuration conf = BundledModelsConfig.configuration();
        conf.set(TetrisOptions.TARGET_MODEL, "/no/such/target.onnx");

        assertThatThrownBy(
                        () ->
                                new SubmitOptions()
                                        .deliverModels(
                                                StreamExecutionEnvironment
                                                        .getExecutionEnvironment(),
                                                conf,
                                                true,
                                                out))
                .hasMessageContaining("model files not found: /no/such/target.onnx")
                .hasMessageContaining("--no-ship-models");
    }

    @Test
    void withoutShippingPathsAreLeftForTheTaskManagersAndCheckedHereOnlyIfPresent() {
        SubmitOptions options = new SubmitOptions();
        options.shipModels = false;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();

        TetrisConfig here =
                options.deliverModels(env, BundledModelsConfig.configuration(), true, out);
        assertThat(here.models().checkAtSubmit()).isTrue();
        assertThat(here.models().shippedFolders()).isEmpty();

        Configuration elsewhere = new Configuration();
        elsewhere.set(TetrisOptions.DRAFT_MODEL, "/opt/flink/usrlib/models/draft.onnx");
        elsewhere.set(TetrisOptions.TARGET_MODEL, "/opt/flink/usrlib/models/target.onnx");
        elsewhere.set(TetrisOptions.TOKENIZER, "/opt/flink/usrlib/models/tokenizer.json");
        TetrisConfig there = options.deliverModels(env, elsewhere, true, out);
        assertThat(there.models().checkAtSubmit()).isFalse();
        assertThat(there.models().target()).isEqualTo("/opt/flink/usrlib/models/target.onnx");
        assertThat(there.models().shippedFolders()).isEmpty();
        assertThat(env.getCachedFiles()).isEmpty();
        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("not on this machine");
    }

    @Test
    void aLocalRunChangesNothingAndDetachedNeedsAJobManager() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TetrisConfig local =
                new SubmitOptions()
                        .deliverModels(env, BundledModelsConfig.configuration(), false, out);
        assertThat(local.models().checkAtSubmit()).isTrue();
        assertThat(env.getCachedFiles()).isEmpty();

        SubmitOptions detached = new SubmitOptions();
        detached.detached = true;
        assertThatThrownBy(
                        () ->
                                detached.deliverModels(
                                        env,
                                        io.tetris.operators.config.BundledModelsConfig
                                                .configuration(),
                                        false,
                                        out))
                .hasMessageContaining("--detached needs --jobmanager");
    }

    @Test
    void theReasonOfAFailedJobIsTheJobsOwnMessage() {
        Throwable failure =
                new JobExecutionException(
                        null,
                        "Job execution failed.",
                        new SerializedThrowable(
                                new RuntimeException(
                                        "wrapped",
                                        new IllegalStateException("model file not found: x"))));

        assertThat(SubmitOptions.reason(failure)).isEqualTo("model file not found: x");
    }

    @Test
    void aJobTheRestartedJobManagerNoLongerKnowsIsExplainedInOneLine() {
        Throwable lost =
                new java.util.concurrent.ExecutionException(
                        new RuntimeException(
                                "[org.apache.flink.runtime.rest.handler.RestHandlerException:"
                                        + " org.apache.flink.runtime.messages"
                                        + ".FlinkJobNotFoundException: Could not find Flink job"
                                        + " (abc)\n\tat org.apache.flink.Some.frame(Some.java:1)"));
        Throwable refused =
                new java.util.concurrent.ExecutionException(
                        new java.net.ConnectException("Connection refused\n\tat frame"));

        assertThat(SubmitOptions.reason(lost))
                .contains("does not know the job any more")
                .doesNotContain("\n");
        assertThat(SubmitOptions.reason(refused))
                .isEqualTo("java.net.ConnectException: Connection refused");
    }
}
