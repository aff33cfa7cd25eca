package io.tetris.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

/**
 * A client or job built against an earlier release keeps working: every released schema ({@code
 * history/}) is one today's schema can read, and a value a released schema wrote decodes with
 * today's codec, new fields at their defaults.
 */
class ReleasedSchemasTest {

    @Test
    void everyRecordKeepsItsReleasedSchemasAndTodaysReadsThem() {
        for (Schema current : SchemaContractTest.TOPIC_SCHEMAS) {
            List<Schema> released = SingleObjectCodec.released(current.getName());
            assertThat(released).as(current.getName()).isNotEmpty();
            for (Schema older : released) {
                assertThat(
                                SchemaCompatibility.checkReaderWriterCompatibility(current, older)
                                        .getType())
                        .as(current.getName())
                        .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
            }
        }
    }

    /**
     * Guards the history: a schema change that does not keep the schema it replaces would make
     * every earlier client's values {@code UNKNOWN_SCHEMA}.
     */
    @Test
    void aChangedSchemaKeepsTheOneItReplaces() throws Exception {
        java.util.Properties pinned = new java.util.Properties();
        try (java.io.InputStream in =
                ReleasedSchemasTest.class.getResourceAsStream("current-fingerprints.properties")) {
            pinned.load(in);
        }
        for (Schema current : SchemaContractTest.TOPIC_SCHEMAS) {
            String fingerprint =
                    Long.toHexString(
                            org.apache.avro.SchemaNormalization.parsingFingerprint64(current));
            assertThat(fingerprint)
                    .as(
                            "%s changed: add the schema it replaces (as released) to"
                                    + " schemas/src/main/resources/io/tetris/schemas/history/"
                                    + "%s.N.avsc with the next N, then pin the new fingerprint"
                                    + " in current-fingerprints.properties",
                            current.getName(), current.getName())
                    .isEqualTo(pinned.getProperty(current.getName()));
        }
    }

    @Test
    void aRequestFromAnEarlierClientDecodesWithTheNewFieldsAtTheirDefaults() throws Exception {
        Schema first = SingleObjectCodec.released("GenerationRequest").get(0);
        assertThat(first.getField("max_draft_tokens")).isNull();
        GenericRecord old = new GenericData.Record(first);
        for (Schema.Field field : first.getFields()) {
            if (field.hasDefaultValue()) {
                old.put(field.name(), GenericData.get().getDefaultValue(field));
            }
        }
        old.put("request_id", "from-an-old-client");
        old.put("prompt", "Hello");
        old.put("max_new_tokens", 7);
        byte[] bytes =
                new BinaryMessageEncoder<GenericRecord>(GenericData.get(), first)
                        .encode(old)
                        .array();

        Decoded<GenerationRequest> decoded = new RequestDecoder().decode(bytes);

        assertThat(decoded).as(String.valueOf(decoded)).isInstanceOf(Decoded.Ok.class);
        GenerationRequest request = ((Decoded.Ok<GenerationRequest>) decoded).value();
        assertThat(request.getRequestId()).isEqualTo("from-an-old-client");
        assertThat(request.getMaxNewTokens()).isEqualTo(7);
        assertThat(request.getMaxDraftTokens()).isEqualTo(-1);
        assertThat(request.getLogprobs()).isFalse();
    }
}
