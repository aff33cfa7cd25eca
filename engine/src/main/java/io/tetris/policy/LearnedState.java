package io.tetris.policy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The byte form of what a policy learned ({@link BudgetPolicy#learned}), framed by a version so a
 * job restored from a checkpoint of another layout starts learning afresh instead of misreading.
 */
final class LearnedState {

    /** Bumped whenever any learner's layout changes. */
    static final int VERSION = 3;

    interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    interface Reader {
        void read(DataInputStream in) throws IOException;
    }

    private LearnedState() {}

    static byte[] write(Writer writer) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(VERSION);
            writer.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: cannot happen
        }
        return bytes.toByteArray();
    }

    /**
     * Reads {@code bytes} with {@code reader}.
     *
     * @return false, reading nothing, when the bytes are of another version
     * @throws IllegalArgumentException when they are of this version but do not parse completely
     */
    static boolean read(byte[] bytes, Reader reader) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readInt() != VERSION) {
                return false;
            }
            reader.read(in);
            if (in.available() > 0) {
                throw new IllegalArgumentException(
                        "learned policy state has " + in.available() + " bytes left over");
            }
            return true;
        } catch (IOException e) {
            throw new IllegalArgumentException("learned policy state does not parse: " + e, e);
        }
    }

    static void doubles(DataOutputStream out, double[] values) throws IOException {
        out.writeInt(values.length);
        for (double v : values) {
            out.writeDouble(v);
        }
    }

    /** Reads into {@code into}, whose length the bytes must match. */
    static void doubles(DataInputStream in, double[] into) throws IOException {
        int n = in.readInt();
        if (n != into.length) {
            throw new IOException("expected " + into.length + " values, found " + n);
        }
        for (int i = 0; i < n; i++) {
            into[i] = in.readDouble();
        }
    }

    static void booleans(DataOutputStream out, boolean[] values) throws IOException {
        out.writeInt(values.length);
        for (boolean v : values) {
            out.writeBoolean(v);
        }
    }

    static void booleans(DataInputStream in, boolean[] into) throws IOException {
        int n = in.readInt();
        if (n != into.length) {
            throw new IOException("expected " + into.length + " flags, found " + n);
        }
        for (int i = 0; i < n; i++) {
            into[i] = in.readBoolean();
        }
    }
}
