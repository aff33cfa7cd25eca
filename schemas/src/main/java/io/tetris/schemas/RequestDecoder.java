package io.tetris.schemas;

/**
 * Decodes a value of the requests topic in either accepted format: Avro single-object encoding
 * (what Avro clients and the job's own tools send) or a flat JSON object (what {@code kcat} and
 * shell users send, see {@link FlatJsonReader} for the mapping). It never throws.
 *
 * <p>Division of labour with the job's validation step: this decoder answers "is this a {@link
 * GenerationRequest} at all?" (size, format, schema fingerprint, syntax, field names and types,
 * UTF-8, presence of {@code request_id}); validation answers "is it a request we will serve?"
 * (empty, too long or duplicate id, empty or too long prompt, sampling parameter ranges, control
 * characters, stop-string count and lengths, queue capacity). Both report with {@link ErrorCode}s,
 * and {@link ErrorRecords} turns either into a {@link GenerationError}.
 *
 * <p>Thread-safe.
 */
public final class RequestDecoder {

    private final SingleObjectCodec<GenerationRequest> avro;
    private final FlatJsonReader<GenerationRequest> json;

    /** A decoder with {@link SingleObjectCodec#DEFAULT_MAX_PAYLOAD_BYTES}. */
    public RequestDecoder() {
        this(SingleObjectCodec.REQUEST);
    }

    /** A decoder whose Avro side is {@code avro}; its size limit applies to JSON as well. */
    public RequestDecoder(SingleObjectCodec<GenerationRequest> avro) {
        this.avro = avro;
        this.json = new FlatJsonReader<>(GenerationRequest::new);
    }

    /** The size limit of {@link #decode}, in bytes. */
    public int maxPayloadBytes() {
        return avro.maxPayloadBytes();
    }

    /** Detects the format of {@code value} and decodes it; never throws. */
    public Decoded<GenerationRequest> decode(byte[] value) {
        if (value == null || value.length == 0) {
            return avro.decode(value); // EMPTY_PAYLOAD with the codec's wording
        }
        if (value.length > avro.maxPayloadBytes()) {
            return Decoded.failed(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    "value has " + value.length + " bytes, the limit is " + avro.maxPayloadBytes());
        }
        switch (PayloadFormat.of(value)) {
            case AVRO_SINGLE_OBJECT:
                return avro.decode(value);
            case JSON:
                return json.read(value);
            default:
                return Decoded.failed(
                        ErrorCode.UNKNOWN_FORMAT,
                        "value is neither Avro single-object encoding (starting 0xC3 0x01) nor a"
                                + " JSON object (starting '{'); it starts "
                                + Bytes.hexPrefix(value, 8));
        }
    }
}
