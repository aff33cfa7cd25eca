package io.tetris.operators.dedupe;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Request ids whose results were already committed to the results topic when the job resumed from
 * an older checkpoint than the newest (a fallback). Their requests come back (re-read from the
 * source, or mid-generation in the restored state) because the older state does not know they were
 * answered; the job drops them instead of committing their results a second time.
 *
 * <p>{@code serve} writes the file next to the checkpoints before it submits the job; each task
 * reads it when it opens, from any Flink file system the checkpoints are on.
 */
public final class AnsweredIds {

    private static final int MAGIC = 0x54414e31; // "TAN1"

    private static final AnsweredIds NONE = new AnsweredIds(Set.of());

    private final Set<String> ids;

    private AnsweredIds(Set<String> ids) {
        this.ids = ids;
    }

    /** The ids in {@code uri}, or none when {@code uri} is empty. */
    public static AnsweredIds load(String uri) {
        if (uri == null || uri.isEmpty()) {
            return NONE;
        }
        Path path = new Path(uri);
        try (DataInputStream in = new DataInputStream(path.getFileSystem().open(path))) {
            if (in.readInt() != MAGIC) {
                throw new IOException("not a file of answered request ids");
            }
            int count = in.readInt();
            Set<String> ids = new HashSet<>(Math.max(16, count * 2));
            for (int i = 0; i < count; i++) {
                ids.add(in.readUTF());
            }
            return new AnsweredIds(Set.copyOf(ids));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the answered request ids in " + uri, e);
        }
    }

    /** Writes {@code ids} to {@code path}, replacing what is there. */
    public static void write(Path path, Collection<String> ids) throws IOException {
        FileSystem fs = path.getFileSystem();
        try (DataOutputStream out =
                new DataOutputStream(fs.create(path, FileSystem.WriteMode.OVERWRITE))) {
            out.writeInt(MAGIC);
            out.writeInt(ids.size());
            for (String id : ids) {
                out.writeUTF(id);
            }
        }
    }

    public boolean contains(String requestId) {
        return ids.contains(requestId);
    }

    /** Every id, unmodifiable. */
    public Set<String> ids() {
        return ids;
    }

    public int size() {
        return ids.size();
    }
}
