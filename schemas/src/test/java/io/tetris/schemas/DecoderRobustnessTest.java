package io.tetris.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing: whatever the bytes, decoding returns a typed result and never throws. A thrown
 * exception fails the test, and so does a failure code outside the decoding codes.
 */
class DecoderRobustnessTest {

    private static final int ITERATIONS = 5_000;

    private static final Set<ErrorCode> DECODING_CODES =
            EnumSet.of(
                    ErrorCode.EMPTY_PAYLOAD,
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    ErrorCode.UNKNOWN_FORMAT,
                    ErrorCode.UNKNOWN_SCHEMA,
                    ErrorCode.TRUNCATED,
                    ErrorCode.MALFORMED_AVRO,
                    ErrorCode.MALFORMED_JSON,
                    ErrorCode.INVALID_UTF8,
                    ErrorCode.MISSING_REQUEST_ID);

    private final RequestDecoder requests = new RequestDecoder();

    @Test
    void randomBytesAreAlwaysATypedFailure() {
        Random random = new Random(20250217L);
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] value = new byte[random.nextInt(64)];
            random.nextBytes(value);

            assertTypedFailure(requests.decode(value), value);
            assertTypedFailure(SingleObjectCodec.TOKEN_EVENT.decode(value), value);
            assertTypedFailure(SingleObjectCodec.RESULT.decode(value), value);
            assertTypedFailure(SingleObjectCodec.ERROR.decode(value), value);
        }
    }

    @Test
    void randomBodiesBehindAValidHeaderNeverThrow() {
        Random random = new Random(7L);
        int ok = 0;
        for (SingleObjectCodec<?> codec : codecs()) {
            byte[] header = Arrays.copyOf(encodedSample(codec), SingleObjectCodec.HEADER_BYTES);
            for (int i = 0; i < ITERATIONS; i++) {
                byte[] body = randomBody(random);
                byte[] value = SingleObjectCodecTest.concat(header, body);

                Decoded<?> decoded = codec.decode(value);

                ok += decoded.isOk() ? 1 : 0;
                decoded.asFailure().ifPresent(f -> assertDecodingCode(f, value));
            }
        }
        // The walk must not reject everything: some random bodies are valid records.
        assertThat(ok).isPositive();
    }

    @Test
    void mutatedAvroValuesNeverThrow() {
        Random random = new Random(99L);
        for (SingleObjectCodec<?> codec : codecs()) {
            byte[] valid = encodedSample(codec);
            for (int i = 0; i < ITERATIONS; i++) {
                byte[] value = mutate(valid, random);
                codec.decode(value).asFailure().ifPresent(f -> assertDecodingCode(f, value));
                requests.decode(value).asFailure().ifPresent(f -> assertDecodingCode(f, value));
            }
        }
    }

    @Test
    void mutatedJsonValuesNeverThrow() {
        Random random = new Random(1234L);
        byte[] valid =
                Samples.utf8(
                        "{\"request_id\":\"a\",\"prompt\":\"Hé 🚀\",\"prompt_token_ids\":[1,2],"
                                + "\"temperature\":0.5,\"stop\":[\"x\"],\"seed\":9}");
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] value = mutate(valid, random);
            if (value.length > 0) {
                value[0] = '{'; // stay on the JSON path
            }
            requests.decode(value).asFailure().ifPresent(f -> assertDecodingCode(f, value));
        }
    }

    /**
     * Half uniform bytes, half bytes from a tiny alphabet of small varints and ASCII, which often
     * spell valid records (so the test also sees successes).
     */
    private static byte[] randomBody(Random random) {
        byte[] body = new byte[random.nextInt(48)];
        if (random.nextBoolean()) {
            random.nextBytes(body);
        } else {
            byte[] alphabet = {0x00, 0x00, 0x02, 0x04, 'a'};
            for (int k = 0; k < body.length; k++) {
                body[k] = alphabet[random.nextInt(alphabet.length)];
            }
        }
        return body;
    }

    private static byte[] mutate(byte[] valid, Random random) {
        byte[] value = valid.clone();
        switch (random.nextInt(4)) {
            case 0: // flip a few bytes
                for (int k = random.nextInt(3) + 1; k > 0; k--) {
                    value[random.nextInt(value.length)] = (byte) random.nextInt(256);
                }
                return value;
            case 1: // cut
                return Arrays.copyOf(value, random.nextInt(value.length));
            case 2: // extend with junk
                byte[] longer = Arrays.copyOf(value, value.length + 1 + random.nextInt(8));
                for (int k = value.length; k < longer.length; k++) {
                    longer[k] = (byte) random.nextInt(256);
                }
                return longer;
            default: // drop one byte
                int at = random.nextInt(value.length);
                byte[] shorter = new byte[value.length - 1];
                System.arraycopy(value, 0, shorter, 0, at);
                System.arraycopy(value, at + 1, shorter, at, value.length - at - 1);
                return shorter;
        }
    }

    // Plain checks instead of AssertJ chains: these run hundreds of thousands of times.

    private static void assertTypedFailure(Decoded<?> decoded, byte[] value) {
        if (decoded.isOk()) {
            fail("random bytes decoded: " + Arrays.toString(value));
        }
        assertDecodingCode(decoded.asFailure().orElseThrow(), value);
    }

    private static void assertDecodingCode(DecodeFailure failure, byte[] value) {
        if (!DECODING_CODES.contains(failure.code()) || failure.reason().isBlank()) {
            fail("unexpected " + failure + " for " + Arrays.toString(value));
        }
    }

    private static List<SingleObjectCodec<?>> codecs() {
        return List.of(
                SingleObjectCodec.REQUEST,
                SingleObjectCodec.TOKEN_EVENT,
                SingleObjectCodec.RESULT,
                SingleObjectCodec.ERROR);
    }

    private static <T extends SpecificRecord> byte[] encodedSample(SingleObjectCodec<T> codec) {
        return codec.encode(sample(codec));
    }

    @SuppressWarnings("unchecked")
    private static <T extends SpecificRecord> T sample(SingleObjectCodec<T> codec) {
        String name = codec.schema().getName();
        return (T)
                switch (name) {
                    case "GenerationRequest" -> Samples.request();
                    case "TokenEvent" -> Samples.tokenEvent();
                    case "GenerationResult" -> Samples.result();
                    default -> Samples.error();
                };
    }
}
