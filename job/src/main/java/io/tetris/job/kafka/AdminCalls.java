package io.tetris.job.kafka;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;

/** A short-lived admin client for one piece of work, its failures as one readable line. */
public final class AdminCalls {

    /** Work with an admin client. */
    @FunctionalInterface
    public interface Call<T> {
        T apply(Admin admin) throws ExecutionException, TimeoutException, InterruptedException;
    }

    private AdminCalls() {}

    /**
     * Runs {@code call} with an admin client of {@code kafka}.
     *
     * @param what what the call does, for the message: "cannot {@code what} (SERVERS): CAUSE"
     * @throws IllegalStateException when Kafka fails, does not answer in time, or the thread is
     *     interrupted
     */
    public static <T> T with(KafkaClientSettings kafka, String what, Call<T> call) {
        try (Admin admin = Admin.create(kafka.adminProperties())) {
            return call.apply(admin);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(
                    "cannot "
                            + what
                            + " ("
                            + kafka.bootstrapServers()
                            + "): "
                            + (e.getCause() == null ? e : e.getCause()),
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying to " + what, e);
        }
    }
}
