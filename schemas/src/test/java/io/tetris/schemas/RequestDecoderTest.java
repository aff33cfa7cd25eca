package io.tetris.schemas;

import static io.tetris.schemas.DecodedAssert.assertFailed;
import static io.tetris.schemas.DecodedAssert.assertOk;
import static io.tetris.schemas.Samples.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestDecoderTest {

    private final RequestDecoder decoder = new RequestDecoder();

    @Test
    void decodesAvroSingleObjectValues() {
        GenerationRequest request = Samples.request();

        assertThat(assertOk(decoder.decode(SingleObjectCodec.REQUEST.encode(request))))
                .isEqualTo(request);
    }

    @Test
    void decodesFlatJsonWithEveryField() {
        String json =
                "{\"request_id\":\"req-1\",\"prompt\":\"Once upon a time, ünïcödé 🚀\","
                        + "\"prompt_token_ids\":[1,2,300],\"max_new_tokens\":32,"
                        + "\"temperature\":0.7,\"top_p\":0.9,\"top_k\":40,\"seed\":-42,"
                        + "\"stop\":[\"\\n\",\"THE END\"],\"priority\":2.5,"
                        + "\"created_at_ms\":1700000000000}";

        GenerationRequest decoded = assertOk(decoder.decode(utf8(json)));

        assertThat(decoded).isEqualTo(Samples.request());
    }

    @Test
    void appliesSchemaDefaultsToOmittedJsonFields() {
        GenerationRequest decoded = assertOk(decoder.decode(utf8("{\"request_id\":\"a\"}")));

        assertThat(decoded.getRequestId()).isEqualTo("a");
        assertThat(decoded.getPrompt()).isEmpty();
        assertThat(decoded.getPromptTokenIds()).isEmpty();
        assertThat(decoded.getMaxNewTokens()).isEqualTo(64);
        assertThat(decoded.getTemperature()).isEqualTo(0.0f);
        assertThat(decoded.getTopP()).isEqualTo(1.0f);
        assertThat(decoded.getTopK()).isZero();
        assertThat(decoded.getSeed()).isZero();
        assertThat(decoded.getStop()).isEmpty();
        assertThat(decoded.getPriority()).isEqualTo(1.0);
        assertThat(decoded.getCreatedAtMs()).isZero();
        // Same as the generated builder's defaults, and survives an Avro round trip.
        assertThat(decoded)
                .isEqualTo(GenerationRequest.newBuilder().setRequestId("a").build())
                .isEqualTo(
                        assertOk(
                                SingleObjectCodec.REQUEST.decode(
                                        SingleObjectCodec.REQUEST.encode(decoded))));
    }

    @Test
    void acceptsTheExampleFromTheDocsWithLeadingWhitespaceAndBom() {
        String json =
                " \r\n\t{\"request_id\":\"a\",\"prompt\":\"Hello\",\"max_new_tokens\":32,"
                        + "\"temperature\":0.7,\"stop\":[\"\\n\"]}\n";
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

        for (byte[] value :
                List.of(utf8(json), SingleObjectCodecTest.concat(bom, utf8(json.strip())))) {
            GenerationRequest decoded = assertOk(decoder.decode(value));
            assertThat(decoded.getPrompt()).isEqualTo("Hello");
            assertThat(decoded.getMaxNewTokens()).isEqualTo(32);
            assertThat(decoded.getTemperature()).isEqualTo(0.7f);
            assertThat(decoded.getStop()).containsExactly("\n");
            assertThat(decoded.getTopP()).isEqualTo(1.0f);
        }
    }

    @Test
    void integralNumbersAreAcceptedForFloatAndDoubleFields() {
        GenerationRequest decoded =
                assertOk(
                        decoder.decode(
                                utf8("{\"request_id\":\"a\",\"temperature\":1,\"priority\":3}")));

        assertThat(decoded.getTemperature()).isEqualTo(1.0f);
        assertThat(decoded.getPriority()).isEqualTo(3.0);
    }

    @Test
    void valuesAreNotJudgedHereButLeftToValidation() {
        String json =
                "{\"request_id\":\"\",\"prompt\":\"\",\"max_new_tokens\":-5,"
                        + "\"temperature\":-1,\"top_p\":7,\"top_k\":-3,\"priority\":0}";

        GenerationRequest decoded = assertOk(decoder.decode(utf8(json)));

        assertThat(decoded.getRequestId()).isEmpty();
        assertThat(decoded.getMaxNewTokens()).isEqualTo(-5);
        assertThat(decoded.getTopP()).isEqualTo(7.0f);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "{\"request_id\":\"a\",}                          | line 1, column 19: Unexpected character",
                "{\"request_id\" \"a\"}                           | line 1, column",
                "{'request_id':'a'}                               | line 1, column 2: Unexpected character",
                "{\"request_id\":\"a\",\"max_new_tokens\":NaN}    | JSON syntax error",
                "{\"request_id\":\"a\"} {}                        | after the JSON object",
                "{\"request_id\":\"a\"}}                          | line 1, column",
            })
    void syntaxErrorsAreMalformedJsonWithAPosition(String json, String expected) {
        DecodeFailure failure = assertFailed(decoder.decode(utf8(json)), ErrorCode.MALFORMED_JSON);

        assertThat(failure.reason()).contains(expected);
    }

    @Test
    void truncatedJsonSaysSo() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":\"a\",\"prompt\":\"x")),
                        ErrorCode.MALFORMED_JSON);

        assertThat(failure.reason()).contains("ends before the object is complete");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "\"max_new_tokens\":\"32\"  | field 'max_new_tokens' must be an integer in 32-bit range, got string \"32\"",
                "\"max_new_tokens\":32.5    | field 'max_new_tokens' must be an integer",
                "\"max_new_tokens\":3000000000 | field 'max_new_tokens' must be an integer in 32-bit range",
                "\"max_new_tokens\":null    | field 'max_new_tokens' must be an integer in 32-bit range, got null",
                "\"seed\":1e3               | field 'seed' must be an integer in 64-bit range",
                "\"seed\":99999999999999999999 | field 'seed' must be an integer in 64-bit range",
                "\"temperature\":\"hot\"    | field 'temperature' must be a finite number in float range, got string",
                "\"temperature\":1e39       | field 'temperature' must be a finite number in float range",
                "\"priority\":1e999         | field 'priority' must be a finite number",
                "\"priority\":true          | field 'priority' must be a finite number, got boolean",
                "\"prompt\":42              | field 'prompt' must be a string, got number 42",
                "\"prompt\":{\"text\":\"x\"} | field 'prompt' must be a string, got object",
                "\"stop\":\"\\n\"           | field 'stop' must be an array, got string",
                "\"stop\":[\"a\",7]         | field 'stop[1]' must be a string, got number 7",
                "\"prompt_token_ids\":[1,-2,\"3\"] | field 'prompt_token_ids[2]' must be an integer",
            })
    void wrongTypesAreMalformedJsonNamingTheField(String field, String expected) {
        String json = "{\"request_id\":\"req-9\"," + field + "}";

        DecodeFailure failure = assertFailed(decoder.decode(utf8(json)), ErrorCode.MALFORMED_JSON);

        assertThat(failure.reason()).contains(expected);
        assertThat(failure.requestId()).as("id is still reported").isEqualTo("req-9");
    }

    @Test
    void unknownFieldIsMalformedJsonNamingItAndTheKnownFields() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":\"a\",\"temprature\":0.5}")),
                        ErrorCode.MALFORMED_JSON);

        assertThat(failure.reason()).contains("unknown field 'temprature'").contains("temperature");
        assertThat(failure.requestId()).isEqualTo("a");
    }

    @Test
    void duplicateFieldIsMalformedJson() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(
                                utf8("{\"request_id\":\"a\",\"prompt\":\"x\",\"prompt\":\"y\"}")),
                        ErrorCode.MALFORMED_JSON);

        assertThat(failure.reason()).contains("Duplicate field 'prompt'");
        assertThat(failure.requestId()).as("the id was read before the duplicate").isEqualTo("a");
    }

    @Test
    void aRawNulAfterTheIdIsMalformedJsonThatStillNamesTheId() {
        byte[] json = utf8("{\"request_id\":\"nul-1\",\"prompt\":\"a#b\"}");
        json[new String(json, java.nio.charset.StandardCharsets.UTF_8).indexOf('#')] = 0;

        byte[] idAfterTheNul = utf8("{\"prompt\":\"a#b\",\"request_id\":\"late\"}");
        idAfterTheNul[
                        new String(idAfterTheNul, java.nio.charset.StandardCharsets.UTF_8)
                                .indexOf('#')] =
                0;

        DecodeFailure failure = assertFailed(decoder.decode(json), ErrorCode.MALFORMED_JSON);
        DecodeFailure unread =
                assertFailed(decoder.decode(idAfterTheNul), ErrorCode.MALFORMED_JSON);

        assertThat(failure.requestId()).isEqualTo("nul-1");
        assertThat(unread.requestId()).as("the id comes after the problem").isNull();
    }

    @Test
    void invalidUtf8AfterTheIdStillNamesTheId() {
        byte[] json = utf8("{\"request_id\":\"u-1\",\"prompt\":\"xy\"}");
        json[new String(json, java.nio.charset.StandardCharsets.UTF_8).indexOf('x')] = (byte) 0xFF;

        DecodeFailure failure = assertFailed(decoder.decode(json), ErrorCode.INVALID_UTF8);

        assertThat(failure.requestId()).isEqualTo("u-1");
    }

    @Test
    void aRepeatedIdIsKeptOnlyWhenBothCopiesAgree() {
        DecodeFailure same =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":\"a\",\"request_id\":\"a\"}")),
                        ErrorCode.MALFORMED_JSON);
        DecodeFailure different =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":\"a\",\"request_id\":\"b\"}")),
                        ErrorCode.MALFORMED_JSON);

        assertThat(same.requestId()).isEqualTo("a");
        assertThat(different.requestId()).isNull();
    }

    @Test
    void missingRequestIdIsMissingRequestIdNotMalformed() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(utf8("{\"prompt\":\"Hello\"}")),
                        ErrorCode.MISSING_REQUEST_ID);

        assertThat(failure.reason()).contains("'request_id'");
        assertThat(failure.requestId()).isNull();
    }

    @Test
    void nullRequestIdIsAMissingRequestId() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":null,\"prompt\":\"x\"}")),
                        ErrorCode.MISSING_REQUEST_ID);

        assertThat(failure.reason()).contains("'request_id' is null");
        assertThat(failure.requestId()).isNull();
    }

    @Test
    void invalidUtf8InJsonIsInvalidUtf8WithTheOffset() {
        byte[] json = utf8("{\"request_id\":\"a\",\"prompt\":\"xy\"}");
        int x = new String(json, java.nio.charset.StandardCharsets.UTF_8).indexOf('x');
        json[x] = (byte) 0xC0; // a lead byte that only overlong forms use

        DecodeFailure failure = assertFailed(decoder.decode(json), ErrorCode.INVALID_UTF8);

        assertThat(failure.reason()).contains("byte " + x);
    }

    @Test
    void unpairedSurrogateEscapeIsInvalidUtf8() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":\"a\",\"prompt\":\"ok \\ud800\"}")),
                        ErrorCode.INVALID_UTF8);

        assertThat(failure.reason()).contains("field 'prompt'").contains("character 3");
        assertThat(failure.requestId()).isEqualTo("a");
    }

    @Test
    void anUnpairedSurrogateInTheIdIsInvalidUtf8AndTheIdIsNotReported() {
        DecodeFailure failure =
                assertFailed(
                        decoder.decode(utf8("{\"request_id\":\"id\\udc00\",\"prompt\":\"x\"}")),
                        ErrorCode.INVALID_UTF8);

        assertThat(failure.reason()).contains("field 'request_id'").contains("character 2");
        assertThat(failure.requestId()).as("would be written as 'id?'").isNull();
    }

    @Test
    void pairedSurrogateEscapesAreFine() {
        GenerationRequest decoded =
                assertOk(
                        decoder.decode(
                                utf8("{\"request_id\":\"a\",\"prompt\":\"\\ud83d\\ude80\"}")));

        assertThat(decoded.getPrompt()).isEqualTo("🚀");
    }

    @Test
    void deeplyNestedJsonIsMalformedNotAStackOverflow() {
        String json = "{\"request_id\":\"a\",\"stop\":" + "[".repeat(5000) + "]".repeat(5000) + "}";

        assertFailed(decoder.decode(utf8(json)), ErrorCode.MALFORMED_JSON);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hello", "[{\"request_id\":\"a\"}]", "\"a\"", "42", "   ", "<xml/>"})
    void valuesThatAreNeitherAvroNorAJsonObjectAreUnknownFormat(String value) {
        DecodeFailure failure = assertFailed(decoder.decode(utf8(value)), ErrorCode.UNKNOWN_FORMAT);

        assertThat(failure.reason())
                .contains("neither Avro single-object encoding")
                .contains(String.format("0x%02X", utf8(value)[0]));
    }

    @Test
    void nullEmptyAndOversizedValuesAreTyped() {
        RequestDecoder small =
                new RequestDecoder(SingleObjectCodec.of(GenerationRequest.class, 32, List.of()));
        byte[] bigJson = utf8("{\"request_id\":\"a\",\"prompt\":\"" + "x".repeat(40) + "\"}");

        assertFailed(decoder.decode(null), ErrorCode.EMPTY_PAYLOAD);
        assertFailed(decoder.decode(new byte[0]), ErrorCode.EMPTY_PAYLOAD);
        assertFailed(small.decode(bigJson), ErrorCode.PAYLOAD_TOO_LARGE);
        assertOk(decoder.decode(bigJson));
        assertThat(small.maxPayloadBytes()).isEqualTo(32);
    }

    @Test
    void detectsTheFormatFromTheFirstBytes() {
        assertThat(PayloadFormat.of(SingleObjectCodec.REQUEST.encode(Samples.request())))
                .isEqualTo(PayloadFormat.AVRO_SINGLE_OBJECT);
        assertThat(PayloadFormat.of(new byte[] {(byte) 0xC3}))
                .isEqualTo(PayloadFormat.AVRO_SINGLE_OBJECT);
        assertThat(PayloadFormat.of(utf8("\n {}"))).isEqualTo(PayloadFormat.JSON);
        assertThat(PayloadFormat.of(utf8("[]"))).isEqualTo(PayloadFormat.UNKNOWN);
        assertThat(PayloadFormat.of(new byte[] {(byte) 0xC3, 0x02}))
                .isEqualTo(PayloadFormat.UNKNOWN);
        assertThat(PayloadFormat.of(null)).isEqualTo(PayloadFormat.UNKNOWN);
        assertThat(PayloadFormat.of(new byte[0])).isEqualTo(PayloadFormat.UNKNOWN);
    }

    @Test
    void aLoneMagicByteIsATruncatedAvroValue() {
        assertFailed(decoder.decode(new byte[] {(byte) 0xC3}), ErrorCode.TRUNCATED);
        assertFailed(decoder.decode(new byte[] {(byte) 0xC3, 0x01, 0x00}), ErrorCode.TRUNCATED);
    }

    @Test
    void decodedResultHelpersAgreeWithTheVariant() {
        Decoded<GenerationRequest> ok = decoder.decode(utf8("{\"request_id\":\"a\"}"));
        Decoded<GenerationRequest> failed = decoder.decode(utf8("nope"));

        assertThat(ok.isOk()).isTrue();
        assertThat(ok).isInstanceOf(Decoded.Ok.class);
        assertThat(ok.fold(GenerationRequest::getRequestId, f -> "failed")).isEqualTo("a");
        assertThat(failed.isOk()).isFalse();
        assertThat(failed).isInstanceOf(Decoded.Failed.class);
        assertThat(failed.fold(r -> null, DecodeFailure::code)).isEqualTo(ErrorCode.UNKNOWN_FORMAT);
    }
}
