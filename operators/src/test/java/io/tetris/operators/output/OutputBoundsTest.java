package io.tetris.operators.output;

import static org.assertj.core.api.Assertions.assertThat;

import io.tetris.operators.config.TetrisConfig;
import io.tetris.operators.config.TetrisOptions;
import io.tetris.schemas.ErrorCode;
import io.tetris.schemas.ErrorRecords;
import io.tetris.schemas.FinishReason;
import io.tetris.schemas.GenerationError;
import io.tetris.schemas.GenerationResult;
import io.tetris.schemas.SingleObjectCodec;
import io.tetris.schemas.SpeculationStats;
import io.tetris.schemas.Timings;
import io.tetris.schemas.TokenEvent;
import io.tetris.schemas.Usage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** {@link OutputBounds}: records at the configured limits never exceed their bounds. */
class OutputBoundsTest {

    /** The longest entry of a byte-level vocabulary's special tokens, e.g. an end-of-text. */
    private static final int LONGEST_TOKEN = 13;

    @Test
    void recordsBuiltAtTheLimitsStayWithinTheBounds() {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.MAX_REQUEST_ID_LENGTH, 100);
        conf.set(TetrisOptions.MAX_CONTEXT, 300);
        conf.set(TetrisOptions.TOKEN_CHUNK, 5);
        TetrisConfig config = TetrisConfig.from(conf);
        OutputBounds bounds = OutputBounds.of(config, LONGEST_TOKEN);
        // Characters outside the BMP take the most UTF-8 bytes per char: 4 for 2.
        String id = "\u20AC".repeat(100);
        String tokenText = "\uD83D\uDE80".repeat(3) + "x"; // 13 bytes
        List<Integer> ids = Collections.nCopies(300, Integer.MAX_VALUE);

        TokenEvent event =
                TokenEvent.newBuilder()
                        .setRequestId(id)
                        .setSeq(Integer.MAX_VALUE)
                        .setTokenIds(ids.subList(0, 5))
                        .setText(tokenText.repeat(5))
                        .setFinished(true)
                        .setFinishReason(FinishReason.CONTEXT_LIMIT)
                        .build();
        List<Long> perPosition = new ArrayList<>(Collections.nCopies(300, Long.MAX_VALUE));
        GenerationResult result =
                GenerationResult.newBuilder()
                        .setRequestId(id)
                        .setText(tokenText.repeat(300))
                        .setTokenIds(ids)
                        .setFinishReason(FinishReason.CONTEXT_LIMIT)
                        .setUsage(new Usage(Integer.MAX_VALUE, Integer.MAX_VALUE))
                        .setSpeculation(
                                SpeculationStats.newBuilder()
                                        .setRounds(Long.MAX_VALUE)
                                        .setDrafts(Long.MAX_VALUE)
                                        .setDraftTokens(Long.MAX_VALUE)
                                        .setVerifiedDraftTokens(Long.MAX_VALUE)
                                        .setAcceptedTokens(Long.MAX_VALUE)
                                        .setAcceptedPerPosition(perPosition)
                                        .build())
                        .setTimings(
                                new Timings(
                                        Long.MAX_VALUE,
                                        Long.MAX_VALUE,
                                        Long.MAX_VALUE,
                                        Long.MAX_VALUE,
                                        Long.MAX_VALUE,
                                        Long.MAX_VALUE))
                        .setPolicy("tetris-adaptive")
                        .build();
        GenerationError error =
                new ErrorRecords(ErrorRecords.DEFAULT_MAX_STORED_PAYLOAD_BYTES, 100)
                        .of(
                                ErrorCode.OUTPUT_TOO_LARGE,
                                "\u20AC".repeat(100_000),
                                "\u20AC".repeat(101),
                                new byte[100_000],
                                Long.MAX_VALUE);

        assertThat(KafkaRecordSize.of(id, SingleObjectCodec.TOKEN_EVENT.encode(event)))
                .isLessThanOrEqualTo(bounds.tokenEvent());
        assertThat(KafkaRecordSize.of(id, SingleObjectCodec.RESULT.encode(result)))
                .isLessThanOrEqualTo(bounds.result());
        assertThat(KafkaRecordSize.of(null, SingleObjectCodec.ERROR.encode(error)))
                .isLessThanOrEqualTo(bounds.error());
        GenerationError withId =
                new ErrorRecords(ErrorRecords.DEFAULT_MAX_STORED_PAYLOAD_BYTES, 100)
                        .of(ErrorCode.INTERNAL, "m".repeat(5000), id, new byte[5000], 1L);
        assertThat(KafkaRecordSize.of(id, SingleObjectCodec.ERROR.encode(withId)))
                .isLessThanOrEqualTo(bounds.error());
    }

    @Test
    void theDefaultsFitKafkasDefaultLimitAndAHugeIdLimitDoesNot() {
        OutputBounds defaults = OutputBounds.of(TetrisConfig.from(new Configuration()), 256);
        Configuration huge = new Configuration();
        huge.set(TetrisOptions.MAX_REQUEST_ID_LENGTH, 1 << 20);

        assertThat(defaults.largest())
                .isLessThan(KafkaRecordSize.KAFKA_DEFAULT_MAX_REQUEST_SIZE / 4);
        assertThat(OutputBounds.of(TetrisConfig.from(huge), 256).largest())
                .isGreaterThan(KafkaRecordSize.KAFKA_DEFAULT_MAX_REQUEST_SIZE);
    }
}
