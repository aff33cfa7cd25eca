package io.tetris.schemas;

import static io.tetris.schemas.DecodedAssert.assertFailed;
import static io.tetris.schemas.DecodedAssert.assertOk;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SingleObjectCodecTest {

    /** (codec, record) pairs for all four topic types. */
    static Stream<Arguments> allTypes() {
        return Stream.of(
                Arguments.of(SingleObjectCodec.REQUEST, Samples.request()),
                Arguments.of(SingleObjectCodec.TOKEN_EVENT, Samples.tokenEvent()),
                Arguments.of(SingleObjectCodec.RESULT, Samples.result()),
                Arguments.of(SingleObjectCodec.ERROR, Samples.error()));
    }

    @ParameterizedTest
    @MethodSource("allTypes")
    <T extends SpecificRecord> void roundTripsEveryFieldOfEveryType(
            SingleObjectCodec<T> codec, T record) {
        byte[] bytes = codec.encode(record);

        T decoded = assertOk(codec.decode(bytes));

        assertThat(decoded).isEqualTo(record);
        assertThat(decoded.toString()).isEqualTo(record.toString());
    }

    @ParameterizedTest
    @MethodSource("allTypes")
    <T extends SpecificRecord> void writesMagicAndLittleEndianFingerprint(
            SingleObjectCodec<T> codec, T record) {
        byte[] bytes = codec.encode(record);

        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(fingerprint)
                .isEqualTo(codec.fingerprint())
                .isEqualTo(SchemaNormalization.parsingFingerprint64(record.getSchema()));
    }

    @Test
    void isWireCompatibleWithTheGeneratedClassesOwnMethods() throws Exception {
        GenerationRequest request = Samples.request();
        ByteBuffer generated = request.toByteBuffer();
        byte[] generatedBytes = new byte[generated.remaining()];
        generated.get(generatedBytes);

        assertThat(SingleObjectCodec.REQUEST.encode(request)).isEqualTo(generatedBytes);
        assertThat(assertOk(SingleObjectCodec.REQUEST.decode(generatedBytes))).isEqualTo(request);
        assertThat(
                        GenerationRequest.fromByteBuffer(
                                ByteBuffer.wrap(SingleObjectCodec.REQUEST.encode(request))))
                .isEqualTo(request);
    }

    @Test
    void tokenEventBytesDecodedAsRequestAreUnknownSchemaNamingTheActualType() {
        byte[] tokenEvent = SingleObjectCodec.TOKEN_EVENT.encode(Samples.tokenEvent());

        DecodeFailure failure =
                assertFailed(
                        SingleObjectCodec.REQUEST.decode(tokenEvent), ErrorCode.UNKNOWN_SCHEMA);

        assertThat(failure.reason()).contains("GenerationRequest").contains("is a TokenEvent");
    }

    @Test
    void flippedFingerprintByteIsUnknownSchema() {
        for (int i = 2; i < SingleObjectCodec.HEADER_BYTES; i++) {
            byte[] bytes = SingleObjectCodec.RESULT.encode(Samples.result());
            bytes[i] ^= 0x01;

            DecodeFailure failure =
                    assertFailed(SingleObjectCodec.RESULT.decode(bytes), ErrorCode.UNKNOWN_SCHEMA);

            assertThat(failure.reason()).contains("unknown schema version");
        }
    }

    @ParameterizedTest
    @MethodSource("allTypes")
    <T extends SpecificRecord> void everyStrictPrefixIsTruncated(
            SingleObjectCodec<T> codec, T record) {
        byte[] bytes = codec.encode(record);

        assertFailed(codec.decode(new byte[0]), ErrorCode.EMPTY_PAYLOAD);
        for (int length = 1; length < bytes.length; length++) {
            DecodeFailure failure =
                    assertFailed(codec.decode(Arrays.copyOf(bytes, length)), ErrorCode.TRUNCATED);
            assertThat(failure.reason()).startsWith("value ends early");
        }
    }

    @Test
    void truncationReasonNamesTheFieldBeingRead() {
        byte[] bytes = SingleObjectCodec.REQUEST.encode(Samples.request());
        // Header (10) + request_id ("req-1": 1 length byte + 5) + 3 bytes into the prompt.
        byte[] cut = Arrays.copyOf(bytes, 10 + 6 + 3);

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.REQUEST.decode(cut), ErrorCode.TRUNCATED);

        assertThat(failure.reason()).contains("GenerationRequest.prompt");
    }

    @Test
    void trailingBytesAreMalformed() {
        byte[] bytes = SingleObjectCodec.TOKEN_EVENT.encode(Samples.tokenEvent());
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);

        DecodeFailure failure =
                assertFailed(
                        SingleObjectCodec.TOKEN_EVENT.decode(longer), ErrorCode.MALFORMED_AVRO);

        assertThat(failure.reason()).contains("trailing");
    }

    @Test
    void hugeStringLengthIsTruncatedWithoutAllocating() {
        // request_id claims 1e9 bytes; Avro itself would try to allocate them.
        byte[] header = Arrays.copyOf(SingleObjectCodec.REQUEST.encode(Samples.request()), 10);
        byte[] bytes = concat(header, zigZagVarint(1_000_000_000L));

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.REQUEST.decode(bytes), ErrorCode.TRUNCATED);

        assertThat(failure.reason()).contains("request_id").contains("1000000000");
    }

    @Test
    void hugeArrayCountIsTruncatedWithoutAllocating() {
        GenerationRequest minimal = GenerationRequest.newBuilder().setRequestId("a").build();
        byte[] bytes = SingleObjectCodec.REQUEST.encode(minimal);
        // header(10) | 0x02 'a' | 0x00 (empty prompt) | 0x00 (empty prompt_token_ids) | ...
        assertThat(bytes[13]).isEqualTo((byte) 0);
        byte[] corrupt =
                concat(
                        Arrays.copyOf(bytes, 13),
                        zigZagVarint(100_000_000), // Avro would allocate the array first
                        Arrays.copyOfRange(bytes, 14, bytes.length));

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.REQUEST.decode(corrupt), ErrorCode.TRUNCATED);

        assertThat(failure.reason()).contains("prompt_token_ids");
    }

    @Test
    void negativeLengthIsMalformed() {
        byte[] header = Arrays.copyOf(SingleObjectCodec.REQUEST.encode(Samples.request()), 10);

        DecodeFailure failure =
                assertFailed(
                        SingleObjectCodec.REQUEST.decode(concat(header, zigZagVarint(-1))),
                        ErrorCode.MALFORMED_AVRO);

        assertThat(failure.reason()).contains("negative string length");
    }

    @Test
    void unionBranchOutOfRangeIsMalformed() {
        TokenEvent notFinished =
                TokenEvent.newBuilder().setRequestId("r").setSeq(0).build(); // finish_reason null
        byte[] bytes = SingleObjectCodec.TOKEN_EVENT.encode(notFinished);
        int branch = bytes.length - 2; // ..., finish_reason branch, logprobs (empty: 0)
        assertThat(bytes[branch]).isEqualTo((byte) 0); // union branch 0 = null
        bytes[branch] = zigZagVarint(5)[0];

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.TOKEN_EVENT.decode(bytes), ErrorCode.MALFORMED_AVRO);

        assertThat(failure.reason()).contains("TokenEvent.finish_reason").contains("branch 5");
    }

    @Test
    void booleanOtherThanZeroOrOneIsMalformed() {
        TokenEvent event = TokenEvent.newBuilder().setRequestId("r").setSeq(0).build();
        byte[] bytes = SingleObjectCodec.TOKEN_EVENT.encode(event);
        int finished = bytes.length - 3; // ..., finished, finish_reason branch, logprobs
        assertThat(bytes[finished]).isEqualTo((byte) 0);
        bytes[finished] = 7;

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.TOKEN_EVENT.decode(bytes), ErrorCode.MALFORMED_AVRO);

        assertThat(failure.reason()).contains("TokenEvent.finished");
    }

    @Test
    void enumIndexOutOfRangeIsMalformed() {
        GenerationError error =
                GenerationError.newBuilder()
                        .setCode(ErrorCode.INTERNAL)
                        .setMessage("")
                        .build(); // request_id null: header | 0x00 | code
        byte[] bytes = SingleObjectCodec.ERROR.encode(error);
        bytes[11] = zigZagVarint(30)[0]; // 24 symbols

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.ERROR.decode(bytes), ErrorCode.MALFORMED_AVRO);

        assertThat(failure.reason()).contains("GenerationError.code").contains("enum index 30");
    }

    @Test
    void invalidUtf8InAStringFieldIsReportedWithTheField() {
        GenerationRequest request =
                GenerationRequest.newBuilder().setRequestId("r").setPrompt("AB").build();
        byte[] bytes = SingleObjectCodec.REQUEST.encode(request);
        // header(10) | 0x02 'r' | 0x04 'A' 'B'
        assertThat(bytes[13]).isEqualTo((byte) 'A');
        bytes[13] = (byte) 0xFF;

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.REQUEST.decode(bytes), ErrorCode.INVALID_UTF8);

        assertThat(failure.reason()).contains("GenerationRequest.prompt");
    }

    @Test
    void wrongMagicIsUnknownFormat() {
        byte[] bytes = SingleObjectCodec.REQUEST.encode(Samples.request());
        bytes[1] = 0x02;

        DecodeFailure failure =
                assertFailed(SingleObjectCodec.REQUEST.decode(bytes), ErrorCode.UNKNOWN_FORMAT);

        assertThat(failure.reason()).contains("0xC3 0x02");
    }

    @Test
    void nullAndEmptyAreEmptyPayload() {
        assertThat(
                        assertFailed(
                                        SingleObjectCodec.REQUEST.decode(null),
                                        ErrorCode.EMPTY_PAYLOAD)
                                .reason())
                .contains("null");
        assertThat(
                        assertFailed(
                                        SingleObjectCodec.REQUEST.decode(new byte[0]),
                                        ErrorCode.EMPTY_PAYLOAD)
                                .reason())
                .contains("empty");
    }

    @Test
    void valuesAboveTheLimitAreRejectedUnread() {
        SingleObjectCodec<GenerationRequest> small =
                SingleObjectCodec.of(GenerationRequest.class, 64, List.of());
        GenerationRequest big =
                GenerationRequest.newBuilder().setRequestId("r").setPrompt("x".repeat(100)).build();
        byte[] bytes = small.encode(big);

        DecodeFailure failure = assertFailed(small.decode(bytes), ErrorCode.PAYLOAD_TOO_LARGE);

        assertThat(failure.reason()).contains(bytes.length + " bytes").contains("64");
        assertOk(SingleObjectCodec.REQUEST.decode(bytes));
    }

    @Test
    void olderWriterSchemaIsReadOnlyWhenRegisteredAndGetsDefaults() throws Exception {
        Schema current = GenerationRequest.getClassSchema();
        List<Schema.Field> oldFields = new ArrayList<>();
        for (Schema.Field f : current.getFields()) {
            if (!f.name().equals("priority") && !f.name().equals("created_at_ms")) {
                oldFields.add(new Schema.Field(f, f.schema()));
            }
        }
        Schema old =
                Schema.createRecord(
                        current.getName(), "v0", current.getNamespace(), false, oldFields);
        GenericRecord v0 = new GenericData.Record(old);
        for (Schema.Field f : old.getFields()) {
            if (f.hasDefaultValue()) {
                v0.put(f.name(), GenericData.get().getDefaultValue(f));
            }
        }
        v0.put("request_id", "old-client");
        v0.put("max_new_tokens", 7);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), old).encode(v0, out);
        byte[] bytes = out.toByteArray();

        assertFailed(SingleObjectCodec.REQUEST.decode(bytes), ErrorCode.UNKNOWN_SCHEMA);
        SingleObjectCodec<GenerationRequest> evolving =
                SingleObjectCodec.of(
                        GenerationRequest.class,
                        SingleObjectCodec.DEFAULT_MAX_PAYLOAD_BYTES,
                        List.of(old));
        GenerationRequest read = assertOk(evolving.decode(bytes));

        assertThat(read.getRequestId()).isEqualTo("old-client");
        assertThat(read.getMaxNewTokens()).isEqualTo(7);
        assertThat(read.getPriority()).isEqualTo(1.0);
        assertThat(read.getCreatedAtMs()).isZero();
    }

    @Test
    void encodingARecordThatBreaksItsSchemaFailsLoudly() {
        GenerationRequest broken = new GenerationRequest(); // request_id is null

        assertThatThrownBy(() -> SingleObjectCodec.REQUEST.encode(broken))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("GenerationRequest");
    }

    @Test
    void rejectsALimitTooSmallForTheHeader() {
        assertThatThrownBy(() -> SingleObjectCodec.of(TokenEvent.class, 9, List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static byte[] zigZagVarint(long value) {
        long n = (value << 1) ^ (value >> 63);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((n & ~0x7FL) != 0) {
            out.write((int) ((n & 0x7F) | 0x80));
            n >>>= 7;
        }
        out.write((int) n);
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
