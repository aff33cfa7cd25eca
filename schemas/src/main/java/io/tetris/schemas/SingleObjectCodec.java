package io.tetris.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Avro single-object encoding of one record type: {@code 0xC3 0x01}, the writer schema's 8-byte
 * CRC-64-AVRO fingerprint (little-endian), then the Avro binary datum. It is what the generated
 * classes' {@code toByteBuffer}/{@code fromByteBuffer} write and read, so any Avro client can
 * produce the values, and no schema registry is needed: the fingerprint says which schema wrote
 * them.
 *
 * <p>{@link #decode} never throws: whatever the bytes, it returns a {@link Decoded} with either the
 * record or a {@link DecodeFailure} ({@code EMPTY_PAYLOAD}, {@code PAYLOAD_TOO_LARGE}, {@code
 * UNKNOWN_FORMAT}, {@code UNKNOWN_SCHEMA}, {@code TRUNCATED}, {@code MALFORMED_AVRO} or {@code
 * INVALID_UTF8}). The bytes are checked by {@link AvroBinaryCheck} before Avro reads them, so
 * corrupt length prefixes cannot make Avro allocate gigabytes.
 *
 * <p>Schema evolution: a codec knows its own schema and, optionally, older writer schemas of the
 * same record; values written with those are resolved to the current schema by Avro's rules. The
 * shared codecs below know every schema this project released ({@code history/NAME.N.avsc}, one per
 * change, N from 1): a client or job built against an earlier release keeps working.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param <T> the generated record class
 */
public final class SingleObjectCodec<T extends SpecificRecord> {

    /** Default upper bound on a value's size: Kafka's default maximum message size. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;

    /** Magic bytes plus the 8-byte fingerprint. */
    public static final int HEADER_BYTES = 10;

    static final byte MAGIC_0 = (byte) 0xC3;
    static final byte MAGIC_1 = (byte) 0x01;

    /**
     * The project's own record types, to say "this is a TokenEvent" instead of "unknown schema".
     */
    private static final Map<Long, String> PROJECT_TYPES =
            Map.of(
                    fingerprint(GenerationRequest.getClassSchema()), "GenerationRequest",
                    fingerprint(TokenEvent.getClassSchema()), "TokenEvent",
                    fingerprint(GenerationResult.getClassSchema()), "GenerationResult",
                    fingerprint(GenerationError.getClassSchema()), "GenerationError");

    public static final SingleObjectCodec<GenerationRequest> REQUEST =
            withHistory(GenerationRequest.class);
    public static final SingleObjectCodec<TokenEvent> TOKEN_EVENT = withHistory(TokenEvent.class);
    public static final SingleObjectCodec<GenerationResult> RESULT =
            withHistory(GenerationResult.class);
    public static final SingleObjectCodec<GenerationError> ERROR =
            withHistory(GenerationError.class);

    private final Schema schema;
    private final long fingerprint;
    private final int maxPayloadBytes;
    private final Map<Long, Schema> writerSchemas;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    private SingleObjectCodec(Class<T> type, int maxPayloadBytes, List<Schema> olderWriterSchemas) {
        if (maxPayloadBytes < HEADER_BYTES) {
            throw new IllegalArgumentException(
                    "maxPayloadBytes must be at least " + HEADER_BYTES + ": " + maxPayloadBytes);
        }
        SpecificData model = SpecificData.getForClass(type);
        this.schema = model.getSchema(type);
        this.fingerprint = fingerprint(schema);
        this.maxPayloadBytes = maxPayloadBytes;
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema);
        Map<Long, Schema> writers = new HashMap<>();
        writers.put(fingerprint, schema);
        for (Schema older : olderWriterSchemas) {
            writers.put(fingerprint(older), older);
            decoder.addSchema(older);
        }
        this.writerSchemas = Map.copyOf(writers);
    }

    /** A codec for {@code type} with the default size limit and every released schema of it. */
    public static <T extends SpecificRecord> SingleObjectCodec<T> withHistory(Class<T> type) {
        return of(type, DEFAULT_MAX_PAYLOAD_BYTES, released(type.getSimpleName()));
    }

    /** The released schemas of record {@code name}, oldest first ({@code history/NAME.N.avsc}). */
    public static List<Schema> released(String name) {
        List<Schema> schemas = new java.util.ArrayList<>();
        for (int n = 1; ; n++) {
            String resource = "history/" + name + "." + n + ".avsc";
            try (java.io.InputStream in = SingleObjectCodec.class.getResourceAsStream(resource)) {
                if (in == null) {
                    return List.copyOf(schemas);
                }
                schemas.add(new Schema.Parser().parse(in));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot read " + resource, e);
            }
        }
    }

    /** A codec for {@code type} with the default size limit and no older schemas. */
    public static <T extends SpecificRecord> SingleObjectCodec<T> of(Class<T> type) {
        return of(type, DEFAULT_MAX_PAYLOAD_BYTES, List.of());
    }

    /**
     * A codec for {@code type}.
     *
     * @param maxPayloadBytes larger values are rejected with {@code PAYLOAD_TOO_LARGE} unread
     * @param olderWriterSchemas earlier versions of the record's schema whose values must still be
     *     readable
     */
    public static <T extends SpecificRecord> SingleObjectCodec<T> of(
            Class<T> type, int maxPayloadBytes, List<Schema> olderWriterSchemas) {
        return new SingleObjectCodec<>(
                Objects.requireNonNull(type, "type"),
                maxPayloadBytes,
                List.copyOf(olderWriterSchemas));
    }

    /** The record's (reader) schema. */
    public Schema schema() {
        return schema;
    }

    /** CRC-64-AVRO fingerprint of {@link #schema()}, as written in every encoded value. */
    public long fingerprint() {
        return fingerprint;
    }

    /** The size limit of {@link #decode}. */
    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    /**
     * Encodes a record built by the job. Records come from our own code, so a record that breaks
     * its schema is a bug and fails loudly.
     *
     * @throws IllegalArgumentException if the record does not conform to its schema (e.g. a
     *     required field is null)
     */
    public byte[] encode(T record) {
        Objects.requireNonNull(record, "record");
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        try {
            encoder.encode(record, out);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(
                    "cannot encode " + schema.getName() + ": " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** Decodes one Kafka value; never throws (see the class comment for the failure codes). */
    public Decoded<T> decode(byte[] value) {
        if (value == null || value.length == 0) {
            return Decoded.failed(
                    ErrorCode.EMPTY_PAYLOAD,
                    value == null ? "value is null (a tombstone?)" : "value is empty");
        }
        if (value.length > maxPayloadBytes) {
            return Decoded.failed(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    "value has " + value.length + " bytes, the limit is " + maxPayloadBytes);
        }
        DecodeFailure headerProblem = checkHeader(value);
        if (headerProblem != null) {
            return Decoded.failed(headerProblem);
        }
        Schema writer = writerSchemas.get(fingerprintOf(value));
        DecodeFailure bodyProblem = AvroBinaryCheck.check(writer, value, HEADER_BYTES);
        if (bodyProblem != null) {
            return Decoded.failed(bodyProblem);
        }
        try {
            return Decoded.ok(decoder.decode(value));
        } catch (IOException | RuntimeException e) {
            // Not expected after the check above; a safety net so nothing escapes.
            return Decoded.failed(
                    ErrorCode.MALFORMED_AVRO,
                    "Avro could not read the " + schema.getName() + ": " + e);
        }
    }

    private DecodeFailure checkHeader(byte[] value) {
        if (value[0] != MAGIC_0 || (value.length > 1 && value[1] != MAGIC_1)) {
            return new DecodeFailure(
                    ErrorCode.UNKNOWN_FORMAT,
                    "not Avro single-object encoding: expected magic bytes 0xC3 0x01, got "
                            + Bytes.hexPrefix(value, 2));
        }
        if (value.length < HEADER_BYTES) {
            return new DecodeFailure(
                    ErrorCode.TRUNCATED,
                    "value ends early: "
                            + value.length
                            + " byte(s), the single-object header alone needs "
                            + HEADER_BYTES);
        }
        long found = fingerprintOf(value);
        if (writerSchemas.containsKey(found)) {
            return null;
        }
        String known = PROJECT_TYPES.get(found);
        return new DecodeFailure(
                ErrorCode.UNKNOWN_SCHEMA,
                "schema fingerprint "
                        + hex(found)
                        + " is not a known "
                        + schema.getName()
                        + " schema (current is "
                        + hex(fingerprint)
                        + ")"
                        + (known == null
                                ? ": written with an unknown schema version"
                                : ": the value is a " + known));
    }

    private static long fingerprintOf(byte[] value) {
        return ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private static String hex(long fingerprint) {
        return String.format(Locale.ROOT, "0x%016X", fingerprint);
    }
}
