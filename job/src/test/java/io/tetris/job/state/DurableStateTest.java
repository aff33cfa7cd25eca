package io.tetris.job.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tetris.job.kafka.TopicNames;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.operators.dedupe.AnsweredIds;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableStateTest {

    private static final String RUN_A = "0123456789abcdef0123456789abcdef";
    private static final String RUN_B = "fedcba9876543210fedcba9876543210";

    private static final String NEW_RUN = "00000000000000000000000000000001";
    private static final KafkaIdentity KAFKA = new KafkaIdentity("cluster-a", Map.of("req", "t1"));

    @TempDir Path dir;

    private final List<Long> answeredAsked = new ArrayList<>();

    private final DurableState.AnsweredSource answered =
            checkpoint -> {
                answeredAsked.add(checkpoint.id());
                return List.of("r1", "r2");
            };

    @Test
    void resumesTheNewestCheckpointAndDeletesNothingUntilTheNewRunHasItsOwn() throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 7, 1_000);
        checkpoint(job, RUN_B, 2, 3_000); // a later run: its checkpoint 2 is newer than A's 7
        checkpoint(job, RUN_B, 1, 2_000);
        Files.createDirectories(job.resolve(RUN_B).resolve("chk-3")); // never completed
        Files.createDirectories(job.resolve(NEW_RUN).resolve("chk-1")); // killed before its first

        Configuration conf = conf();
        try (DurableState state = DurableState.open(conf, "job")) {
            DurableState.Plan plan = state.plan(KAFKA, answered);
            Configuration run = state.configure(plan, conf);

            Path chosen = job.resolve(RUN_B).resolve("chk-2");
            assertThat(plan.resumeFrom().orElseThrow().id()).isEqualTo(2);
            assertThat(plan.fallback()).isFalse();
            assertThat(answeredAsked).as("no fallback, no reading of results").isEmpty();
            assertThat(run.get(StateRecoveryOptions.SAVEPOINT_PATH)).endsWith(chosen.toString());
            assertThat(run.get(StateRecoveryOptions.RESTORE_MODE))
                    .isEqualTo(RecoveryClaimMode.CLAIM);
            assertThat(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))
                    .endsWith(job.toString());
            assertThat(conf.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION))
                    .isEqualTo(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
            assertThat(conf.get(StateBackendOptions.STATE_BACKEND))
                    .isEqualTo(RestoreGuardBackend.Factory.class.getName());
            assertThat(plan.describe()).contains("resuming from checkpoint 2", chosen.toString());
            // Before the new run's first checkpoint every retained checkpoint is still there.
            assertThat(job.resolve(RUN_A).resolve("chk-7")).exists();
            assertThat(job.resolve(RUN_B).resolve("chk-1")).exists();
            assertThat(job.resolve(NEW_RUN)).as("a run without checkpoints").doesNotExist();

            String runId = "abcdefabcdefabcdefabcdefabcdef01";
            state.recordRun(runId, KAFKA, plan);
            assertThat(state.newestOf(runId)).isEmpty();
            checkpoint(job, runId, 1, 4_000);
            assertThat(state.newestOf(runId).orElseThrow().id()).isEqualTo(1);
            assertThat(state.cleanUpAfterFirstCheckpoint(runId, plan)).isPositive();

            assertThat(job.resolve(RUN_A)).doesNotExist();
            assertThat(job.resolve(RUN_B).resolve("chk-1")).doesNotExist();
            assertThat(job.resolve(RUN_B).resolve("chk-3")).doesNotExist();
            assertThat(chosen.resolve("_metadata")).as("Flink owns the restored one").exists();
            assertThat(job.resolve(runId).resolve("chk-1")).exists();
        }
    }

    @Test
    void fallsBackPastACheckpointWhoseMetadataWasCutShortAndNamesTheAnsweredRequests()
            throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 4, 1_000);
        Path cut = checkpoint(job, RUN_A, 5, 2_000);
        byte[] bytes = Files.readAllBytes(cut);
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));

        Configuration conf = conf();
        try (DurableState state = DurableState.open(conf, "job")) {
            DurableState.Plan plan = state.plan(KAFKA, answered);

            assertThat(plan.resumeFrom().orElseThrow().id()).isEqualTo(4);
            assertThat(plan.fallback()).isTrue();
            assertThat(plan.skipped()).hasSize(1);
            assertThat(plan.describe())
                    .contains("skipped checkpoint", "chk-5", "metadata cannot be read");
            assertThat(answeredAsked).containsExactly(4L);
            String file = state.configure(plan, conf).get(TetrisOptions.ANSWERED_IDS);
            assertThat(AnsweredIds.load(file).ids()).containsExactlyInAnyOrder("r1", "r2");
        }
    }

    @Test
    void aCheckpointThatFailedToRestoreIsSkippedFromThenOnAndAnsweredIdsAreCarried()
            throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 3, 1_000);
        checkpoint(job, RUN_A, 4, 2_000);
        Configuration conf = conf();
        String carried;
        try (DurableState state = DurableState.open(conf, "job")) {
            DurableState.Plan first = state.plan(KAFKA, answered);
            state.markUnrestorable(first.resumeFrom().orElseThrow(), "EOFException");
            DurableState.Plan second = state.plan(KAFKA, answered);
            assertThat(second.resumeFrom().orElseThrow().id()).isEqualTo(3);
            assertThat(second.describe()).contains("could not be restored: EOFException");
            carried = second.answeredIds();
            // The new run restores 3 and completes a checkpoint of its own, then dies.
            state.recordRun(RUN_B, KAFKA, second);
            checkpoint(job, RUN_B, 5, 3_000);
            state.cleanUpAfterFirstCheckpoint(RUN_B, second);
        }
        try (DurableState state = DurableState.open(conf(), "job")) {
            DurableState.Plan third = state.plan(KAFKA, answered);
            assertThat(third.resumeFrom().orElseThrow().run().getName()).isEqualTo(RUN_B);
            assertThat(third.fallback()).isFalse();
            // Sequences restored from 3 may still be running in 5: their ids stay answered.
            assertThat(third.answeredIds()).isEqualTo(carried);
            assertThat(AnsweredIds.load(carried).ids()).contains("r1");
        }
    }

    @Test
    void refusesWhenNoRetainedCheckpointCanBeResumed() throws Exception {
        checkpoint(dir.resolve("job"), RUN_A, 4, 1_000);
        try (DurableState state = DurableState.open(conf(), "job")) {
            state.markUnrestorable(state.plan(KAFKA, answered).resumeFrom().orElseThrow(), "bad");
            assertThatThrownBy(() -> state.plan(KAFKA, answered))
                    .hasMessageContaining("none of the retained checkpoints")
                    .hasMessageContaining("--fresh-start");
        }
    }

    @Test
    void refusesACheckpointTakenAgainstOtherKafkaData() throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 4, 1_000);
        try (DurableState state = DurableState.open(conf(), "job")) {
            state.recordRun(RUN_A, KAFKA, state.plan(KAFKA, answered));
            assertThat(state.plan(KAFKA, answered).resumeFrom()).isPresent();

            KafkaIdentity otherCluster = new KafkaIdentity("cluster-b", Map.of("req", "t1"));
            assertThatThrownBy(() -> state.plan(otherCluster, answered))
                    .isInstanceOf(DurableState.ForeignStateException.class)
                    .hasMessageContaining("cluster-a")
                    .hasMessageContaining("cluster-b")
                    .hasMessageContaining("--fresh-start")
                    .hasMessageContaining("--job-name");
            KafkaIdentity recreated = new KafkaIdentity("cluster-a", Map.of("req", "t2"));
            assertThatThrownBy(() -> state.plan(recreated, answered))
                    .hasMessageContaining("topic req was created again");
            KafkaIdentity deleted = new KafkaIdentity("cluster-a", Map.of());
            assertThatThrownBy(() -> state.plan(deleted, answered))
                    .hasMessageContaining("topic req no longer exists");
        }
    }

    @Test
    void aFreshStartGivesUpEarlierRunsButDeletesThemOnlyAfterItsFirstCheckpoint() throws Exception {
        Path job = dir.resolve("job");
        checkpoint(job, RUN_A, 4, 1_000);
        Configuration fresh = conf();
        fresh.set(StateOptions.FRESH_START, true);
        try (DurableState state = DurableState.open(fresh, "job")) {
            DurableState.Plan plan = state.plan(KAFKA, answered);
            assertThat(plan.resumeFrom()).isEmpty();
            assertThat(
                            state.configure(plan, fresh)
                                    .getOptional(StateRecoveryOptions.SAVEPOINT_PATH))
                    .isEmpty();
            assertThat(job.resolve(RUN_A).resolve("chk-4")).exists();
        }
        // Killed before its first checkpoint: the given-up run is not resumed by the next start.
        try (DurableState state = DurableState.open(conf(), "job")) {
            assertThat(state.plan(KAFKA, answered).resumeFrom()).isEmpty();
        }
    }

    @Test
    void anExplicitRestorePathWinsAndIsLeftAlone() throws Exception {
        checkpoint(dir.resolve("job"), RUN_A, 4, 1_000);
        Configuration conf = conf();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, "file:///savepoints/sp-1");
        try (DurableState state = DurableState.open(conf, "job")) {
            DurableState.Plan plan = state.plan(KAFKA, answered);
            assertThat(state.configure(plan, conf).get(StateRecoveryOptions.SAVEPOINT_PATH))
                    .isEqualTo("file:///savepoints/sp-1");
            assertThat(plan.describe()).contains("given explicitly");
        }
    }

    @Test
    void aSecondProcessForTheSameJobIsRefusedWhileTheFirstHoldsTheLock() throws Exception {
        try (DurableState first = DurableState.open(conf(), "job")) {
            assertThat(first.locked()).isTrue();
            assertThatThrownBy(() -> DurableState.open(conf(), "job"))
                    .isInstanceOf(JobLock.JobRunningException.class)
                    .hasMessageContaining("job 'job' is already running")
                    .hasMessageContaining("--job-name");
        }
        try (DurableState again = DurableState.open(conf(), "job")) {
            assertThat(again.locked()).as("released on close").isTrue();
        }
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
        assertThatThrownBy(() -> DurableState.open(conf, "job"))
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
