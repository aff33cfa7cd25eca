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
    void rejectsANegativeLimit() {
        assertThatThrownBy(() -> new ErrorRecords(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
