package io.tetris.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** The contracts stay documented and keep the names and defaults clients rely on. */
class SchemaContractTest {

    static final List<Schema> TOPIC_SCHEMAS =
            List.of(
                    GenerationRequest.getClassSchema(),
                    TokenEvent.getClassSchema(),
                    GenerationResult.getClassSchema(),
                    GenerationError.getClassSchema());

    @Test
    void everyRecordEnumAndFieldIsDocumented() {
        List<String> undocumented = new ArrayList<>();
        for (Schema schema : TOPIC_SCHEMAS) {
            collectUndocumented(schema, undocumented);
        }

        assertThat(undocumented).isEmpty();
    }

    @Test
    void allLiveInTheProjectNamespaceWithSnakeCaseFields() {
        for (Schema schema : TOPIC_SCHEMAS) {
            assertThat(schema.getNamespace()).isEqualTo("io.tetris.schemas");
            for (Schema.Field field : schema.getFields()) {
                assertThat(field.name()).matches("[a-z][a-z0-9_]*");
            }
        }
    }

    @Test
    void onlyTheRequestIdIsRequiredInARequest() {
        for (Schema.Field field : GenerationRequest.getClassSchema().getFields()) {
            assertThat(field.hasDefaultValue())
                    .as(field.name())
                    .isEqualTo(!field.name().equals("request_id"));
        }
    }

    @Test
    void enumsFallBackToUnknownForSymbolsFromNewerWriters() {
        assertThat(ErrorCode.getClassSchema().getEnumDefault()).isEqualTo("UNKNOWN");
        assertThat(FinishReason.getClassSchema().getEnumDefault()).isEqualTo("UNKNOWN");
    }

    @Test
    void errorCodeHasEveryCodeValidationNeeds() {
        assertThat(ErrorCode.values())
                .extracting(Enum::name)
                .contains(
                        "UNKNOWN_SCHEMA",
                        "TRUNCATED",
                        "MALFORMED_AVRO",
                        "MALFORMED_JSON",
                        "PAYLOAD_TOO_LARGE",
                        "MISSING_REQUEST_ID",
                        "DUPLICATE_REQUEST_ID",
                        "EMPTY_PROMPT",
                        "PROMPT_TOO_LONG",
                        "INVALID_MAX_NEW_TOKENS",
                        "INVALID_TEMPERATURE",
                        "INVALID_TOP_P",
                        "INVALID_TOP_K",
                        "INVALID_PRIORITY",
                        "INVALID_UTF8",
                        "CONTROL_CHARACTERS",
                        "TOO_MANY_STOP_STRINGS",
                        "QUEUE_FULL",
                        "INTERNAL",
                        "UNKNOWN",
                        "REQUEST_ID_TOO_LONG",
                        "INVALID_STOP_STRING",
                        "OUTPUT_TOO_LARGE");
    }

    /** New codes are appended, so a symbol's position (its binary encoding) never changes. */
    @Test
    void errorCodesOfTheFirstReleaseKeepTheirPositions() {
        assertThat(ErrorCode.getClassSchema().getEnumSymbols().subList(0, FIRST_CODES.size()))
                .isEqualTo(FIRST_CODES);
    }

    /** A reader that only knows the first release's codes reads a newer code as UNKNOWN. */
    @Test
    void aReaderWithTheOlderCodesReadsNewCodesAsUnknown() throws Exception {
        Schema writer = GenerationError.getClassSchema();
        Schema reader =
                new Schema.Parser()
                        .parse(
                                writer.toString()
                                        .replace(",\"REQUEST_ID_TOO_LONG\"", "")
                                        .replace(",\"INVALID_STOP_STRING\"", "")
                                        .replace(",\"OUTPUT_TOO_LARGE\"", "")
                                        .replace(",\"INVALID_MAX_DRAFT_TOKENS\"", ""));
        assertThat(reader.getField("code").schema().getEnumSymbols()).isEqualTo(FIRST_CODES);
        GenerationError error =
                new ErrorRecords().of(ErrorCode.OUTPUT_TOO_LARGE, "too large", "r", null, 1L);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        org.apache.avro.io.BinaryEncoder encoder =
                org.apache.avro.io.EncoderFactory.get().binaryEncoder(out, null);
        new org.apache.avro.specific.SpecificDatumWriter<GenerationError>(writer)
                .write(error, encoder);
        encoder.flush();

        org.apache.avro.generic.GenericRecord read =
                new org.apache.avro.generic.GenericDatumReader<
                                org.apache.avro.generic.GenericRecord>(writer, reader)
                        .read(
                                null,
                                org.apache.avro.io.DecoderFactory.get()
                                        .binaryDecoder(out.toByteArray(), null));

        assertThat(read.get("code").toString()).isEqualTo("UNKNOWN");
        assertThat(read.get("request_id").toString()).isEqualTo("r");
    }

    private static final List<String> FIRST_CODES =
            List.of(
                    "EMPTY_PAYLOAD",
                    "PAYLOAD_TOO_LARGE",
                    "UNKNOWN_FORMAT",
                    "UNKNOWN_SCHEMA",
                    "TRUNCATED",
                    "MALFORMED_AVRO",
                    "MALFORMED_JSON",
                    "INVALID_UTF8",
                    "MISSING_REQUEST_ID",
                    "DUPLICATE_REQUEST_ID",
                    "EMPTY_PROMPT",
                    "PROMPT_TOO_LONG",
                    "INVALID_TOKEN_ID",
                    "INVALID_MAX_NEW_TOKENS",
                    "INVALID_TEMPERATURE",
                    "INVALID_TOP_P",
                    "INVALID_TOP_K",
                    "INVALID_PRIORITY",
                    "CONTROL_CHARACTERS",
                    "TOO_MANY_STOP_STRINGS",
                    "QUEUE_FULL",
                    "INTERNAL",
                    "UNKNOWN");

    private static void collectUndocumented(Schema schema, List<String> out) {
        switch (schema.getType()) {
            case RECORD:
                if (isBlank(schema.getDoc())) {
                    out.add(schema.getFullName());
                }
                for (Schema.Field field : schema.getFields()) {
                    if (isBlank(field.doc())) {
                        out.add(schema.getName() + "." + field.name());
                    }
                    collectUndocumented(field.schema(), out);
                }
                return;
            case ENUM:
                if (isBlank(schema.getDoc())) {
                    out.add(schema.getFullName());
                }
                return;
            case UNION:
                schema.getTypes().forEach(s -> collectUndocumented(s, out));
                return;
            case ARRAY:
                collectUndocumented(schema.getElementType(), out);
                return;
            default:
                return;
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
