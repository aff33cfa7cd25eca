package io.tetris.schemas;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Walks Avro binary data against its writer schema without building objects, to classify bad bytes
 * before Avro's reader sees them.
 *
 * <p>Why not just catch Avro's exceptions: Avro trusts length prefixes and allocates before reading
 * (one flipped byte can ask for a 2 GB string or a billion-element array, i.e. an {@link
 * OutOfMemoryError}), ignores trailing bytes, and replaces invalid UTF-8 silently. This walk checks
 * every length against the bytes that are actually there, so it reports:
 *
 * <ul>
 *   <li>{@link ErrorCode#TRUNCATED} when the bytes end before the record does (every strict prefix
 *       of a valid encoding gives this, as the walk only ever needs more bytes than it has),
 *   <li>{@link ErrorCode#MALFORMED_AVRO} for bytes that no writer could have produced (bad varint,
 *       negative length, union or enum index out of range, boolean other than 0/1, trailing bytes),
 *   <li>{@link ErrorCode#INVALID_UTF8} for a string that is not well-formed UTF-8.
 * </ul>
 *
 * <p>Reasons name the field, e.g. {@code GenerationRequest.stop[2]}; the path is only turned into
 * text when there is a problem. Meant for the project's non-recursive schemas (a recursive schema
 * would recurse as deep as the data nests). Not thread-safe; one instance per check.
 */
final class AvroBinaryCheck {

    /**
     * Upper bound on a block count when items take no bytes (arrays of null): no real data has it.
     */
    private static final long MAX_EMPTY_ITEMS = 1 << 20;

    private final byte[] bytes;
    private final int end;
    private int pos;

    /** Field names (String) and array indexes (Long) from the root to the datum being read. */
    private final List<Object> path = new ArrayList<>();

    private AvroBinaryCheck(byte[] bytes, int offset) {
        this.bytes = bytes;
        this.end = bytes.length;
        this.pos = offset;
    }

    /**
     * Checks that {@code bytes[offset..]} is exactly one datum of {@code writer}.
     *
     * @return {@code null} when it is, else the first problem found
     */
    static DecodeFailure check(Schema writer, byte[] bytes, int offset) {
        AvroBinaryCheck walk = new AvroBinaryCheck(bytes, offset);
        walk.path.add(writer.getName());
        try {
            walk.datum(writer);
        } catch (DecodeProblem p) {
            return p.toFailure(null);
        }
        if (walk.pos != walk.end) {
            return new DecodeFailure(
                    ErrorCode.MALFORMED_AVRO,
                    (walk.end - walk.pos)
                            + " unexpected trailing byte(s) after a complete "
                            + writer.getName()
                            + " at byte "
                            + walk.pos);
        }
        return null;
    }

    private void datum(Schema schema) throws DecodeProblem {
        switch (schema.getType()) {
            case NULL -> {}
            case BOOLEAN -> {
                int at = take(1, "boolean");
                if (bytes[at] != 0 && bytes[at] != 1) {
                    throw malformed("boolean byte is " + bytes[at] + ", not 0 or 1", at);
                }
            }
            case INT -> varint(5);
            case LONG -> varint(10);
            case FLOAT -> take(4, "float");
            case DOUBLE -> take(8, "double");
            case FIXED -> take(schema.getFixedSize(), "fixed");
            case BYTES -> take(length("bytes"), "bytes");
            case STRING -> string();
            case ENUM -> {
                int at = pos;
                long symbol = varint(5);
                if (symbol < 0 || symbol >= schema.getEnumSymbols().size()) {
                    throw malformed("enum index " + symbol + " out of range", at);
                }
            }
            case UNION -> {
                int at = pos;
                long branch = varint(5);
                if (branch < 0 || branch >= schema.getTypes().size()) {
                    throw malformed("union branch " + branch + " out of range", at);
                }
                datum(schema.getTypes().get((int) branch));
            }
            case ARRAY -> blocks(schema.getElementType(), false);
            case MAP -> blocks(schema.getValueType(), true);
            case RECORD -> {
                for (Schema.Field field : schema.getFields()) {
                    path.add(field.name());
                    datum(field.schema());
                    path.remove(path.size() - 1);
                }
            }
            default -> throw malformed("unsupported type " + schema.getType(), pos);
        }
    }

    /** Array and map blocks: count, (for a negative count, a byte size), items; 0 ends. */
    private void blocks(Schema items, boolean keyed) throws DecodeProblem {
        int minItemBytes = minBytes(items) + (keyed ? 1 : 0);
        long index = 0;
        while (true) {
            int at = pos;
            long count = varint(10);
            if (count == 0) {
                return;
            }
            if (count < 0) {
                if (count == Long.MIN_VALUE) {
                    throw malformed("block count out of range", at);
                }
                count = -count;
                long size = varint(10);
                if (size < 0) {
                    throw malformed("negative block size " + size, at);
                }
            }
            if (minItemBytes > 0 && count > (long) (end - pos) / minItemBytes) {
                throw truncated(
                        "block of "
                                + count
                                + " item(s) needs more than the "
                                + (end - pos)
                                + " byte(s) left",
                        at);
            }
            if (minItemBytes == 0 && count > MAX_EMPTY_ITEMS) {
                throw malformed("implausible block count " + count, at);
            }
            for (long i = 0; i < count; i++, index++) {
                path.add(index);
                if (keyed) {
                    string();
                }
                datum(items);
                path.remove(path.size() - 1);
            }
        }
    }

    private void string() throws DecodeProblem {
        int length = length("string");
        int start = take(length, "string");
        int bad = StrictUtf8.firstInvalid(bytes, start, length);
        if (bad >= 0) {
            throw new DecodeProblem(
                    ErrorCode.INVALID_UTF8, where() + "string is not valid UTF-8 at byte " + bad);
        }
    }

    private int length(String what) throws DecodeProblem {
        int at = pos;
        long length = varint(10);
        if (length < 0) {
            throw malformed("negative " + what + " length " + length, at);
        }
        if (length > end - pos) {
            throw truncated(
                    what + " of " + length + " byte(s) but only " + (end - pos) + " left", at);
        }
        return (int) length;
    }

    /** Reserves {@code n} bytes and returns where they start. */
    private int take(int n, String what) throws DecodeProblem {
        if (n > end - pos) {
            throw truncated(what + " needs " + n + " byte(s)", pos);
        }
        int start = pos;
        pos += n;
        return start;
    }

    /** A zig-zag varint of at most {@code maxBytes} bytes (5 for int, 10 for long), decoded. */
    private long varint(int maxBytes) throws DecodeProblem {
        int start = pos;
        long raw = 0;
        for (int i = 0; i < maxBytes; i++) {
            if (pos >= end) {
                throw truncated("varint", start);
            }
            int b = bytes[pos++] & 0xFF;
            raw |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                long value = (raw >>> 1) ^ -(raw & 1);
                if (maxBytes == 5 && value != (int) value) {
                    throw malformed("int varint out of range", start);
                }
                return value;
            }
        }
        throw malformed("varint longer than " + maxBytes + " bytes", start);
    }

    /** The fewest bytes one datum of {@code schema} can take; 0 only for null and empty records. */
    private static int minBytes(Schema schema) {
        return switch (schema.getType()) {
            case NULL -> 0;
            case FLOAT -> 4;
            case DOUBLE -> 8;
            case FIXED -> schema.getFixedSize();
            case RECORD -> schema.getFields().stream().mapToInt(f -> minBytes(f.schema())).sum();
            default -> 1;
        };
    }

    /** The path of the datum being read, e.g. {@code "GenerationRequest.stop[2]: "}. */
    private String where() {
        StringBuilder out = new StringBuilder();
        for (Object element : path) {
            if (element instanceof Long index) {
                out.append('[').append(index).append(']');
            } else {
                out.append(out.length() == 0 ? "" : ".").append(element);
            }
        }
        return out.append(": ").toString();
    }

    private DecodeProblem truncated(String what, int at) {
        return new DecodeProblem(
                ErrorCode.TRUNCATED,
                "value ends early: " + where() + what + " (starting at byte " + at + ")");
    }

    private DecodeProblem malformed(String what, int at) {
        return new DecodeProblem(
                ErrorCode.MALFORMED_AVRO, where() + what + " (at byte " + at + ")");
    }
}
