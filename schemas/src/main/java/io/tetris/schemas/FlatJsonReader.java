package io.tetris.schemas;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Reads a flat JSON object whose keys are the Avro field names, e.g. {@code {"request_id":"a",
 * "prompt":"Hello","max_new_tokens":32,"temperature":0.7,"stop":["\n"]}}, into a generated record.
 *
 * <p>This is deliberately not Avro's JSON encoding, which wraps unions (<code>{"string":"x"}
 * </code>) and has no defaults: shell and {@code kcat} users write plain JSON. The mapping is
 * driven by the schema, so new fields work without code changes:
 *
 * <ul>
 *   <li>omitted fields take the schema default; a field without a default must be present (missing
 *       or {@code null} {@code request_id} gives {@link ErrorCode#MISSING_REQUEST_ID}, any other
 *       such field {@link ErrorCode#MALFORMED_JSON});
 *   <li>int/long take integral JSON numbers in range, float/double any finite number in range,
 *       string a JSON string, boolean true/false, array a JSON array of such items, and a {@code
 *       ["null", X]} union takes {@code null} or an X; {@code null} for any other field is a type
 *       error;
 *   <li>unknown fields, duplicate fields, wrong types and syntax errors give {@link
 *       ErrorCode#MALFORMED_JSON} naming the field; invalid UTF-8 and unpaired {@code \}{@code
 *       uD800}-style escapes give {@link ErrorCode#INVALID_UTF8}.
 * </ul>
 *
 * <p>A failure carries the request's id whenever the id itself was readable: also when the value
 * breaks down after it (a raw control character, a duplicate key, invalid UTF-8 further on), so the
 * client can tell which of its requests was refused. An id that is not a string, is given twice
 * with different values, or holds an unpaired surrogate is not reported.
 *
 * <p>Values are only converted, not judged: an empty id, a negative temperature or a 10 MB prompt
 * are valid JSON here and are the job's validation step's to reject. Thread-safe.
 *
 * @param <T> the generated record class; its schema must be a record of the field types above
 */
final class FlatJsonReader<T extends SpecificRecordBase> {

    private static final String ID_FIELD = "request_id";
    private static final int MAX_NESTING = 16;
    private static final int MAX_EXCERPT = 40;

    private final Schema schema;
    private final Supplier<T> factory;
    private final SpecificData model;
    private final ObjectMapper mapper;

    /** Reads only as far as the id, accepting duplicate keys, to attribute a broken value. */
    private final JsonFactory salvage;

    FlatJsonReader(Supplier<T> factory) {
        this.factory = Objects.requireNonNull(factory, "factory");
        T prototype = factory.get();
        this.schema = prototype.getSchema();
        this.model = prototype.getSpecificData();
        JsonFactory json =
                JsonFactory.builder()
                        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                        .streamReadConstraints(
                                StreamReadConstraints.builder()
                                        .maxNestingDepth(MAX_NESTING)
                                        .build())
                        .build();
        this.mapper = new ObjectMapper(json);
        this.salvage =
                JsonFactory.builder()
                        .streamReadConstraints(
                                StreamReadConstraints.builder()
                                        .maxNestingDepth(MAX_NESTING)
                                        .build())
                        .build();
    }

    /** Reads {@code bytes} (a whole Kafka value) as one JSON object; never throws. */
    Decoded<T> read(byte[] bytes) {
        int bad = StrictUtf8.firstInvalid(bytes, 0, bytes.length);
        if (bad >= 0) {
            return failed(
                    ErrorCode.INVALID_UTF8,
                    "JSON value is not valid UTF-8 at byte " + bad,
                    bytes,
                    bad);
        }
        JsonNode tree;
        try (JsonParser parser = mapper.createParser(bytes)) {
            tree = mapper.readTree(parser);
            if (tree == null || !tree.isObject()) {
                return Decoded.failed(
                        ErrorCode.MALFORMED_JSON,
                        "expected a JSON object of " + schema.getName() + " fields");
            }
            if (parser.nextToken() != null) {
                return failed(
                        ErrorCode.MALFORMED_JSON,
                        "unexpected content after the JSON object" + at(parser.currentLocation()),
                        bytes,
                        bytes.length);
            }
        } catch (JsonEOFException e) {
            return failed(
                    ErrorCode.MALFORMED_JSON,
                    "JSON ends before the object is complete (truncated?)" + at(e.getLocation()),
                    bytes,
                    bytes.length);
        } catch (StreamConstraintsException e) {
            return failed(
                    ErrorCode.MALFORMED_JSON,
                    "JSON too deep or too large: " + jacksonMessage(e),
                    bytes,
                    bytes.length);
        } catch (JsonProcessingException e) {
            return failed(
                    ErrorCode.MALFORMED_JSON,
                    "JSON syntax error" + at(e.getLocation()) + ": " + jacksonMessage(e),
                    bytes,
                    bytes.length);
        } catch (IOException | RuntimeException e) {
            return failed(ErrorCode.MALFORMED_JSON, "unreadable JSON: " + e, bytes, bytes.length);
        }
        JsonNode id = tree.get(ID_FIELD);
        String requestId = id != null && id.isTextual() ? readable(id.textValue()) : null;
        try {
            return Decoded.ok(toRecord(tree));
        } catch (DecodeProblem p) {
            return Decoded.failed(p.toFailure(requestId));
        } catch (RuntimeException e) {
            return Decoded.failed(
                    new DecodeFailure(
                            ErrorCode.MALFORMED_JSON,
                            "cannot build " + schema.getName() + ": " + e,
                            requestId));
        }
    }

    /** A failure of a value that could not be parsed, with the id if it precedes the problem. */
    private Decoded<T> failed(ErrorCode code, String reason, byte[] bytes, int readable) {
        return Decoded.failed(new DecodeFailure(code, reason, salvageId(bytes, readable)));
    }

    /**
     * The top-level {@code request_id} of {@code bytes[0, length)}, read with a parser that stops
     * at the first problem and keeps what it read before; {@code null} when the id does not come
     * before the problem, is not a string, is given twice with different values, or is not readable
     * (see {@link #readable}).
     */
    private String salvageId(byte[] bytes, int length) {
        String found = null;
        try (JsonParser parser = salvage.createParser(bytes, 0, length)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (!ID_FIELD.equals(name)) {
                    parser.skipChildren();
                    continue;
                }
                if (value != JsonToken.VALUE_STRING) {
                    return null;
                }
                String id = parser.getText();
                if (found != null && !found.equals(id)) {
                    return null; // two different ids: neither can be trusted
                }
                found = id;
            }
        } catch (IOException | RuntimeException e) {
            // The problem the strict parse reported; the id read before it stands.
        }
        return readable(found);
    }

    /**
     * {@code id}, or {@code null} when it holds an unpaired surrogate: such a string has no UTF-8
     * form, and writing it into an error record would silently turn it into {@code ?}, naming
     * another request.
     */
    private static String readable(String id) {
        return id == null || StrictUtf8.firstUnpairedSurrogate(id) >= 0 ? null : id;
    }

    private T toRecord(JsonNode object) throws DecodeProblem {
        Iterator<Map.Entry<String, JsonNode>> entries = object.fields();
        while (entries.hasNext()) {
            String name = entries.next().getKey();
            if (schema.getField(name) == null) {
                throw new DecodeProblem(
                        ErrorCode.MALFORMED_JSON,
                        "unknown field '" + name + "'; known fields: " + fieldNames());
            }
        }
        T record = factory.get();
        for (Schema.Field field : schema.getFields()) {
            JsonNode node = object.get(field.name());
            Object value;
            if (node != null && node.isNull() && ID_FIELD.equals(field.name())) {
                throw new DecodeProblem(
                        ErrorCode.MISSING_REQUEST_ID,
                        "field '" + ID_FIELD + "' is null; it must be a non-empty string");
            } else if (node != null) {
                value = convert(node, field.schema(), field.name());
            } else if (field.hasDefaultValue()) {
                value = model.deepCopy(field.schema(), model.getDefaultValue(field));
            } else {
                throw new DecodeProblem(
                        ID_FIELD.equals(field.name())
                                ? ErrorCode.MISSING_REQUEST_ID
                                : ErrorCode.MALFORMED_JSON,
                        "missing required field '" + field.name() + "'");
            }
            record.put(field.pos(), value);
        }
        return record;
    }

    private Object convert(JsonNode node, Schema type, String path) throws DecodeProblem {
        switch (type.getType()) {
            case INT:
                if (node.isIntegralNumber() && node.canConvertToInt()) {
                    return node.intValue();
                }
                throw wrongType(path, "an integer in 32-bit range", node);
            case LONG:
                if (node.isIntegralNumber() && node.canConvertToLong()) {
                    return node.longValue();
                }
                throw wrongType(path, "an integer in 64-bit range", node);
            case FLOAT:
                if (node.isNumber() && Float.isFinite((float) node.doubleValue())) {
                    return (float) node.doubleValue();
                }
                throw wrongType(path, "a finite number in float range", node);
            case DOUBLE:
                if (node.isNumber() && Double.isFinite(node.doubleValue())) {
                    return node.doubleValue();
                }
                throw wrongType(path, "a finite number", node);
            case BOOLEAN:
                if (node.isBoolean()) {
                    return node.booleanValue();
                }
                throw wrongType(path, "true or false", node);
            case STRING:
                if (node.isTextual()) {
                    return checkedString(node.textValue(), path);
                }
                throw wrongType(path, "a string", node);
            case ENUM:
                if (node.isTextual() && type.hasEnumSymbol(node.textValue())) {
                    return model.createEnum(node.textValue(), type);
                }
                throw wrongType(path, "one of " + type.getEnumSymbols(), node);
            case ARRAY:
                if (!node.isArray()) {
                    throw wrongType(path, "an array", node);
                }
                List<Object> items = new ArrayList<>(node.size());
                for (int i = 0; i < node.size(); i++) {
                    items.add(convert(node.get(i), type.getElementType(), path + "[" + i + "]"));
                }
                return items;
            case UNION:
                return convertUnion(node, type, path);
            default:
                throw new DecodeProblem(
                        ErrorCode.MALFORMED_JSON,
                        "field '"
                                + path
                                + "' of type "
                                + type.getType()
                                + " cannot be given in JSON");
        }
    }

    private Object convertUnion(JsonNode node, Schema union, String path) throws DecodeProblem {
        List<Schema> branches = union.getTypes();
        boolean nullable = branches.stream().anyMatch(s -> s.getType() == Schema.Type.NULL);
        if (node.isNull() && nullable) {
            return null;
        }
        if (nullable && branches.size() == 2) {
            Schema other = branches.get(branches.get(0).getType() == Schema.Type.NULL ? 1 : 0);
            return convert(node, other, path);
        }
        throw new DecodeProblem(
                ErrorCode.MALFORMED_JSON,
                "field '" + path + "' is a union " + union + " that JSON cannot express");
    }

    private static String checkedString(String value, String path) throws DecodeProblem {
        int bad = StrictUtf8.firstUnpairedSurrogate(value);
        if (bad >= 0) {
            throw new DecodeProblem(
                    ErrorCode.INVALID_UTF8,
                    "field '"
                            + path
                            + "' has an unpaired surrogate escape at character "
                            + bad
                            + ", which has no UTF-8 encoding");
        }
        return value;
    }

    private static DecodeProblem wrongType(String path, String expected, JsonNode node) {
        String text = node.toString();
        if (text.length() > MAX_EXCERPT) {
            text = text.substring(0, MAX_EXCERPT) + "...";
        }
        return new DecodeProblem(
                ErrorCode.MALFORMED_JSON,
                "field '"
                        + path
                        + "' must be "
                        + expected
                        + ", got "
                        + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
                        + " "
                        + text);
    }

    private String fieldNames() {
        return schema.getFields().stream()
                .map(Schema.Field::name)
                .collect(Collectors.joining(", "));
    }

    /**
     * Jackson's message without what only makes sense to a Jackson user: the redacted source
     * location (we add line and column ourselves) and hints to enable parser features.
     */
    private static String jacksonMessage(JsonProcessingException e) {
        String message = String.valueOf(e.getOriginalMessage());
        int source = message.indexOf("[Source:");
        if (source >= 0) {
            int open = message.lastIndexOf(" (", source);
            message = message.substring(0, open >= 0 ? open : source);
        }
        int hint = message.indexOf(": enable `");
        if (hint >= 0) {
            message = message.substring(0, hint);
        }
        return message.strip();
    }

    private static String at(JsonLocation location) {
        if (location == null || location.getLineNr() < 1) {
            return "";
        }
        return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }
}
