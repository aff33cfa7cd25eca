package io.tetris.job.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.job.kafka.TopicNames;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableStateTest {

    private static final String RUN_A = "0123456789abcdef0123456789abcdef";
    private static final String RUN_B = "fedcba9876543210fedcba9876543210";

    @TempDir Path dir;

    @Test
    void resumesFromTheNewestCompletedCheckpointAcrossRunsAndDeletesTheRest() throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 7, 1_000);
        checkpoint(job, RUN_B, 2, 3_000); // a later run: its checkpoint 2 is newer than A's 7
        checkpoint(job, RUN_B, 1, 2_000);
        Files.createDirectories(job.resolve(RUN_B).resolve("chk-3")); // never completed

        Configuration conf = conf();
        DurableState.Plan plan = DurableState.apply(conf, "job");

        Path chosen = job.resolve(RUN_B).resolve("chk-2");
        assertThat(plan.resumeFrom()).isPresent();
        assertThat(plan.resumeFrom().get().id()).isEqualTo(2);
        assertThat(conf.get(StateRecoveryOptions.SAVEPOINT_PATH)).endsWith(chosen.toString());
        assertThat(conf.get(StateRecoveryOptions.RESTORE_MODE)).isEqualTo(RecoveryClaimMode.CLAIM);
        assertThat(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).endsWith(job.toString());
        assertThat(conf.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION))
                .isEqualTo(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        assertThat(plan.describe()).contains("resuming from checkpoint 2", chosen.toString());
        // Older run, the older checkpoint and the incomplete one are gone; the chosen one stays.
        assertThat(job.resolve(RUN_A)).doesNotExist();
        assertThat(job.resolve(RUN_B).resolve("chk-1")).doesNotExist();
        assertThat(job.resolve(RUN_B).resolve("chk-3")).doesNotExist();
        assertThat(chosen.resolve("_metadata")).exists();
    }

    @Test
    void skipsACheckpointWhoseMetadataWasCutShort() throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 4, 1_000);
        Path cut = checkpoint(job, RUN_A, 5, 2_000);
        byte[] bytes = Files.readAllBytes(cut);
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        Configuration conf = conf();
        DurableState.Plan plan = DurableState.apply(conf, "job");

        assertThat(plan.resumeFrom().orElseThrow().id()).isEqualTo(4);
        assertThat(plan.unreadable()).hasSize(1);
        assertThat(plan.describe()).contains("skipped unreadable checkpoint");
    }

    @Test
    void startsFreshWithoutCheckpointsAndWhenAskedToAndKeepsThemThen() throws Exception {
        Configuration empty = conf();
        DurableState.Plan none = DurableState.apply(empty, "job");
        assertThat(none.resumeFrom()).isEmpty();
        assertThat(empty.getOptional(StateRecoveryOptions.SAVEPOINT_PATH)).isEmpty();
        assertThat(none.describe()).contains("starting fresh");

        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 4, 1_000);
        Configuration fresh = conf();
        fresh.set(StateOptions.FRESH_START, true);
        assertThat(DurableState.apply(fresh, "job").resumeFrom()).isEmpty();
        assertThat(fresh.getOptional(StateRecoveryOptions.SAVEPOINT_PATH)).isEmpty();
        assertThat(job.resolve(RUN_A).resolve("chk-4")).exists();
    }

    @Test
    void anExplicitRestorePathWinsAndIsLeftAlone() throws Exception {
        checkpoint(dir.resolve("job"), RUN_A, 4, 1_000);
        Configuration conf = conf();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, "file:///savepoints/sp-1");
        DurableState.Plan plan = DurableState.apply(conf, "job");
        assertThat(conf.get(StateRecoveryOptions.SAVEPOINT_PATH))
                .isEqualTo("file:///savepoints/sp-1");
        assertThat(plan.describe()).contains("given explicitly");
    }

    @Test
    void theSameTopicsGroupAndPrefixAreTheSameJob() {
        TopicNames topics = TopicNames.defaults();
        String name = DurableState.jobName(topics, "tetris", "tetris-results");
        assertThat(name).startsWith("tetris-tetris-");
        assertThat(DurableState.jobName(topics, "tetris", "tetris-results")).isEqualTo(name);
        assertThat(DurableState.jobName(topics, "other", "tetris-results")).isNotEqualTo(name);
        assertThat(DurableState.jobName(topics, "tetris", "other")).isNotEqualTo(name);
    }

    @Test
    void refusesAJobNameThatIsNotADirectoryName() {
        Configuration conf = conf();
        conf.set(StateOptions.JOB_NAME, "../elsewhere");
        assertThatThrownBy(() -> DurableState.apply(conf, "job"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--job-name");
    }

    private Configuration conf() {
        Configuration conf = new Configuration();
        conf.set(StateOptions.DIRECTORY, dir.toUri().toString());
        return conf;
    }

    /** A completed checkpoint as Flink lays it out, with real (empty) metadata. */
    private static Path checkpoint(Path job, String run, long id, long completedAtMs)
            throws IOException {
        Path metadata = job.resolve(run).resolve("chk-" + id).resolve("_metadata");
        Files.createDirectories(metadata.getParent());
        try (OutputStream out = Files.newOutputStream(metadata)) {
            Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(id, List.of(), List.of()), new DataOutputStream(out));
        }
        Files.setLastModifiedTime(metadata, FileTime.fromMillis(completedAtMs));
        return metadata;
    }
}
