package io.tetris.schemas;

import static io.tetris.schemas.DecodedAssert.assertOk;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ErrorRecordsTest {

    @Test
    void keepsTheOffendingBytesUpToTheLimitAndTheOriginalSize() {
        byte[] payload = new byte[5000];
        Arrays.fill(payload, (byte) 'x');
        DecodeFailure failure = new DecodeFailure(ErrorCode.MALFORMED_JSON, "bad", "req-7");

        GenerationError error = new ErrorRecords().fromFailure(failure, payload, 42L);

        assertThat(error.getPayload().remaining())
                .isEqualTo(ErrorRecords.DEFAULT_MAX_STORED_PAYLOAD_BYTES);
        assertThat(error.getPayloadSize()).isEqualTo(5000);
        assertThat(error.getCode()).isEqualTo(ErrorCode.MALFORMED_JSON);
        assertThat(error.getMessage()).isEqualTo("bad");
        assertThat(error.getRequestId()).isEqualTo("req-7");
        assertThat(error.getAtMs()).isEqualTo(42L);
    }

    @Test
    void smallPayloadsAreKeptWholeAndCopied() {
        byte[] payload = {1, 2, 3};

        GenerationError error =
                new ErrorRecords(16)
                        .fromFailure(new DecodeFailure(ErrorCode.TRUNCATED, "cut"), payload, 1L);
        payload[0] = 9;

        assertThat(bytes(error.getPayload())).containsExactly(1, 2, 3);
        assertThat(error.getPayloadSize()).isEqualTo(3);
        assertThat(error.getRequestId()).isNull();
    }

    @Test
    void zeroLimitKeepsNoBytesButTheSize() {
        GenerationError error =
                new ErrorRecords(0).of(ErrorCode.QUEUE_FULL, "full", "r", new byte[10], 5L);

        assertThat(error.getPayload().remaining()).isZero();
        assertThat(error.getPayloadSize()).isEqualTo(10);
    }

    @Test
    void nullPayloadGivesNullBytesAndSizeZero() {
        GenerationError error = new ErrorRecords().of(ErrorCode.INTERNAL, "boom", null, null, 5L);

        assertThat(error.getPayload()).isNull();
        assertThat(error.getPayloadSize()).isZero();
    }

    @Test
    void aDecodeFailureBecomesAnErrorRecordThatRoundTrips() {
        byte[] bad = Samples.utf8("{\"request_id\":\"abc\",\"top_k\":\"many\"}");
        DecodeFailure failure = new RequestDecoder().decode(bad).asFailure().orElseThrow();

        GenerationError error = new ErrorRecords().fromFailure(failure, bad, 7L);
        GenerationError read =
                assertOk(SingleObjectCodec.ERROR.decode(SingleObjectCodec.ERROR.encode(error)));

        assertThat(read.getRequestId()).isEqualTo("abc");
        assertThat(read.getCode()).isEqualTo(ErrorCode.MALFORMED_JSON);
        assertThat(read.getMessage()).contains("top_k");
        assertThat(bytes(read.getPayload())).isEqualTo(bad);
    }

    @Test
    void longMessagesAreCutAndSaySo() {
        GenerationError error =
                new ErrorRecords().of(ErrorCode.MALFORMED_JSON, "m".repeat(900_000), "r", null, 1L);

        assertThat(error.getMessage())
                .hasSizeLessThanOrEqualTo(
                        ErrorRecords.MAX_MESSAGE_LENGTH + ErrorRecords.MAX_MESSAGE_EXTRA)
                .endsWith("(" + (900_000 - ErrorRecords.MAX_MESSAGE_LENGTH) + " more characters)");
    }

    @Test
    void anIdOverTheLimitIsLeftOutAndTheMessageSaysWhichItWas() {
        String id = "x".repeat(300);

        GenerationError error =
                new ErrorRecords(1024, 256).of(ErrorCode.MALFORMED_JSON, "bad", id, null, 1L);

        assertThat(error.getRequestId()).isNull();
        assertThat(error.getMessage())
                .startsWith("bad [request_id not kept: it has 300 characters, more than 256")
                .contains("it starts \"" + "x".repeat(32) + "... (268 more characters)\"]");
        assertThat(new ErrorRecords(1024, 300).of(ErrorCode.INTERNAL, "m", id, null, 1L))
                .extracting(GenerationError::getRequestId)
                .isEqualTo(id);
    }

    @Test
    void anIdWithAnUnpairedSurrogateIsLeftOutInsteadOfBecomingAQuestionMark() {
        GenerationError error =
                new ErrorRecords().of(ErrorCode.INVALID_UTF8, "bad \ud800", "a\ud800", null, 1L);
        GenerationError read =
                assertOk(SingleObjectCodec.ERROR.decode(SingleObjectCodec.ERROR.encode(error)));

        assertThat(read.getRequestId()).isNull();
        assertThat(read.getMessage())
                .startsWith("bad \uFFFD [request_id not kept: it has an unpaired surrogate")
                .doesNotContain("?");
    }

    @Test
    void shrinkToFitDropsTheBytesThenTheIdThenCutsTheMessage() {
        GenerationError error =
                new ErrorRecords(4096, Integer.MAX_VALUE)
                        .of(
                                ErrorCode.EMPTY_PROMPT,
                                "e".repeat(2000),
                                "i".repeat(5000),
                                new byte[4000],
                                9L);
        int full = encodedSize(error);

        GenerationError noPayload =
                ErrorRecords.shrinkToFit(error, e -> encodedSize(e) <= full - 3000);
        GenerationError noId = ErrorRecords.shrinkToFit(error, e -> encodedSize(e) <= 3000);
        GenerationError cut = ErrorRecords.shrinkToFit(error, e -> encodedSize(e) <= 700);

        assertThat(ErrorRecords.shrinkToFit(error, e -> true)).isSameAs(error);
        assertThat(noPayload.getPayload()).isNull();
        assertThat(noPayload.getPayloadSize()).isEqualTo(4000);
        assertThat(noPayload.getRequestId()).isEqualTo(error.getRequestId());
        assertThat(noId.getRequestId()).isNull();
        assertThat(noId.getMessage()).contains("request_id not kept").contains("iiii");
        assertThat(encodedSize(cut)).isLessThanOrEqualTo(700);
        for (GenerationError e : new GenerationError[] {noPayload, noId, cut}) {
            assertThat(e.getCode()).isEqualTo(ErrorCode.EMPTY_PROMPT);
            assertThat(e.getAtMs()).isEqualTo(9L);
        }
    }

    @Test
    void rejectsANegativeLimit() {
        assertThatThrownBy(() -> new ErrorRecords(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ErrorRecords(0, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static int encodedSize(GenerationError error) {
        return SingleObjectCodec.ERROR.encode(error).length;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
